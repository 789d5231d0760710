"""The demo data `manage.py seed_demo` loads (see its tests in accounts/tests/test_seed_demo.py):
a customer with a funded checking and savings account and a card on the checking account."""

DEMO_USERNAME, DEMO_PASSWORD = "demo", "demo-pass-2468"
DEMO_CHECKING, DEMO_SAVINGS = "1000000008", "1000000016"
DEMO_CARD, DEMO_PIN = "4000001234567899", "2468"
