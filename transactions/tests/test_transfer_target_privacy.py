"""A transfer to someone else's account reveals nothing beyond "it can receive": frozen, closed,
another currency and unknown all get one answer. The customer's own accounts keep the detailed
answers, since their state is the customer's to know."""

import pytest

from accounts.models import Account

pytestmark = pytest.mark.django_db

TRANSFERS = "/api/v1/transfers/"


def with_status(account, status):
    Account.objects.filter(pk=account.pk).update(status=status)
    return account


def transfer_to(client, source, number: str):
    body = {"from_account": source.number, "to_account": number, "amount": "1.00"}
    return client.post(TRANSFERS, body, format="json")


def answer(response) -> tuple:
    body = response.json()
    return response.status_code, body["code"], body.get("errors"), body["detail"]


def test_frozen_closed_foreign_currency_and_unknown_targets_answer_alike(
    auth_client, account, other_user, account_factory
):
    frozen = with_status(account_factory(owner=other_user), Account.Status.FROZEN)
    closed = with_status(account_factory(owner=other_user), Account.Status.CLOSED)
    euros = account_factory(owner=other_user, currency="EUR")
    answers = {
        name: answer(transfer_to(auth_client, account, number))
        for name, number in {
            "frozen": frozen.number,
            "closed": closed.number,
            "euros": euros.number,
            "unknown": "1234567897",
        }.items()
    }
    assert len(set(map(repr, answers.values()))) == 1, answers
    status, code, errors, _ = answers["unknown"]
    assert (status, code, list(errors)) == (400, "validation_error", ["to_account"])
    account.refresh_from_db()
    assert str(account.balance) == "500.00"


def test_an_active_foreign_account_in_the_same_currency_receives(
    auth_client, account, other_account
):
    assert transfer_to(auth_client, account, other_account.number).status_code == 201


def test_own_accounts_keep_their_detailed_answers(auth_client, user, account, account_factory):
    frozen = with_status(account_factory(owner=user), Account.Status.FROZEN)
    euros = account_factory(owner=user, currency="EUR")
    assert transfer_to(auth_client, account, frozen.number).json()["code"] == "account_not_active"
    assert transfer_to(auth_client, account, euros.number).json()["code"] == "currency_mismatch"
