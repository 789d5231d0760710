"""Account numbers: 10 digits with a Luhn check digit, unique even when opened concurrently."""

import itertools
import threading

import pytest

from accounts import services
from accounts.models import CASH_SUBACCOUNTS, Account
from accounts.numbers import is_luhn_valid, luhn_check_digit
from atm_project.testing.racing import race
from users.tests.factories import UserFactory


@pytest.mark.parametrize(
    "number", ["79927398713", "4000001234567899", "1000000008", "1000000016", "0000000000"]
)
def test_known_luhn_valid_numbers_pass(number):
    assert is_luhn_valid(number)
    assert luhn_check_digit(number[:-1]) == number[-1]


@pytest.mark.parametrize("number", ["79927398710", "1000000009", "4000001234567890", "7", "12a4"])
def test_numbers_with_a_wrong_check_digit_or_not_digits_fail(number):
    assert not is_luhn_valid(number)


def test_a_single_wrong_digit_is_always_caught():
    number = services.generate_account_number()
    for position in range(len(number)):
        for digit in "0123456789":
            if digit != number[position]:
                assert not is_luhn_valid(number[:position] + digit + number[position + 1 :])


def test_generated_numbers_are_10_digits_without_a_leading_zero_and_luhn_valid():
    numbers = {services.generate_account_number() for _ in range(2000)}
    assert len(numbers) > 1990  # random, not sequential guesses
    for number in numbers:
        assert len(number) == 10 and number.isdigit() and number[0] != "0"
        assert is_luhn_valid(number)


@pytest.fixture
def colliding_numbers(monkeypatch):
    """Offer every number twice, so half of all inserts collide with an existing account."""
    pool = [body + luhn_check_digit(body) for body in (str(10**8 + n) for n in range(1000))]
    calls = itertools.count()
    lock = threading.Lock()

    def next_number() -> str:
        with lock:
            return pool[next(calls) // 2]

    monkeypatch.setattr(services, "generate_account_number", next_number)


@pytest.mark.django_db
def test_a_number_collision_is_retried_with_a_new_number(colliding_numbers):
    owner = UserFactory()
    opened = [services.open_account(owner=owner) for _ in range(5)]
    assert len({account.number for account in opened}) == 5


@pytest.mark.django_db(transaction=True)
@pytest.mark.postgres
def test_concurrent_openings_get_distinct_numbers_and_each_cash_subaccount_once(
    requires_postgres, colliding_numbers
):
    owners = [UserFactory() for _ in range(8)]

    def open_three(i: int) -> list[str]:
        return [services.open_account(owner=owners[i]).number for _ in range(3)]

    opened = [number for numbers in race(len(owners), open_three) for number in numbers]
    assert len(opened) == len(set(opened)) == 24
    assert all(is_luhn_valid(number) for number in opened)
    # The first openings also raced to create the bank's cash sub-accounts: each shard once.
    shards = Account.objects.filter(kind="internal", currency="USD").values_list(
        "cash_shard", flat=True
    )
    assert sorted(shards) == list(range(CASH_SUBACCOUNTS))
    assert Account.objects.count() == 24 + CASH_SUBACCOUNTS
