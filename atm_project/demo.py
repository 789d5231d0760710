"""The demo data's published names and credentials (README, docs/api.md): what `manage.py
seed_demo` creates, what `make run` and the landing page print, what the tests sign in with.
Not secrets: they exist only in a database that ran `seed_demo`."""

DEMO_USERNAME, DEMO_PASSWORD = "demo", "demo-pass-2468"
DEMO_CHECKING, DEMO_SAVINGS = "1000000008", "1000000016"
DEMO_CARD, DEMO_PIN = "4000001234567899", "2468"  # the card is on the checking account
ADMIN_USERNAME, ADMIN_PASSWORD = "admin", "admin-pass-2468"
