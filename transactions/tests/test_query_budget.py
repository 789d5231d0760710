"""SQL budgets of the hot paths, over HTTP with a real JWT, authentication included, for each
posting engine (transactions/tests/conftest.py runs both on PostgreSQL).

With the SQL engine a deposit, withdrawal or transfer is one statement, key included (a replay
3), and a balance read 2; with the Python engine a transfer stays within 9, a deposit 8, a
withdrawal 10. So a change that adds a round trip to every request (a user lookup, a session, a
per-leg UPDATE, a lazy relation, a query while rendering the answer) fails here instead of
quietly costing throughput; docs/performance.md lists what each statement is. The tests run in real
transactions (transaction=True), as in production, so no test-only SAVEPOINT is counted.
"""

import re
import uuid
from contextlib import contextmanager
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from atm_project.testing.clients import account_url
from atm_project.testing.problems import assert_problem
from transactions.models import Transaction

BUDGETS = {
    # A transfer: the user (simplejwt, so revoked and deactivated customers are refused at once),
    # the account lock, what pending holds reserve on the source (one sum over the partial index
    # of pending holds), the transaction, the balances (one UPDATE), the entries, and the audit
    # event (lock the source account's audit chain row, insert, move the row). A deposit has no
    # holds to count; a withdrawal adds what was withdrawn today (the daily limit). An
    # Idempotency-Key adds its claim INSERT and its answer UPDATE.
    # A replay stays within the keyed transfer's budget.
    "python": {"transfer": 9, "deposit": 8, "withdraw": 10, "keyed transfer": 11, "replay": 11},
    # The one call of `ledger_post`: it also claims the key and checks the customer, whom the
    # request does not load (atm_project/authentication.py). A replay: the call, then the
    # transaction and its legs, read to render the first answer (the function keeps its id).
    "sql": {"transfer": 1, "deposit": 1, "withdraw": 1, "keyed transfer": 1, "replay": 3},
}
# The user, for authentication; the account, scoped to its owner, with its pending holds' sum.
# On the SQL engine that one statement also checks the customer, whom the request does not load.
BALANCE_BUDGETS = {"python": 2, "sql": 1}
# Without REDIS_URL the per-user money limit counts in the database cache: the window's counter
# (one upsert that leaves a live one alone), then its increment (locked read, write).
MONEY_LIMIT_ON_DATABASE_CACHE = 3
# Transaction control is not a statement of the request's work: PostgreSQL's BEGIN and COMMIT are
# not even logged by Django, while SQLite's "BEGIN IMMEDIATE"/"COMMIT" are. Count the same on both.
TRANSACTION_CONTROL = re.compile(r"^\s*(BEGIN|COMMIT|ROLLBACK|SAVEPOINT|RELEASE)\b", re.IGNORECASE)


@pytest.fixture
def assert_max_statements():
    """Like pytest-django's django_assert_max_num_queries, without transaction control."""

    @contextmanager
    def within(budget: int):
        with CaptureQueriesContext(connection) as captured:
            yield
        statements = [q["sql"] for q in captured if not TRANSACTION_CONTROL.match(q["sql"])]
        assert len(statements) <= budget, (
            f"{len(statements)} SQL statements, budget {budget}:\n" + "\n".join(statements)
        )

    return within


@pytest.fixture(autouse=True)
def counters_outside_the_database(settings):
    """Rate-limit counters live in Redis in production (REDIS_URL), not in SQL: count only SQL."""
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}


@pytest.fixture
def customer(user, client_for, account_factory):
    """A signed-in customer with two accounts, one request already served (per-process caches)."""
    client = client_for(user)
    source = account_factory(owner=user, balance="500.00")
    target = account_factory(owner=user, balance="1.00")
    warm = client.get(f"/api/v1/accounts/{source.number}/balance/")
    assert warm.status_code == 200
    return client, source, target


def transfer(client, source, target, **headers):
    return client.post(
        "/api/v1/transfers/",
        {"from_account": source.number, "to_account": target.number, "amount": "12.50"},
        format="json",
        **headers,
    )


@pytest.mark.django_db(transaction=True)
def test_transfer_with_idempotency_key_stays_within_budget(
    customer, assert_max_statements, ledger_engine
):
    client, source, target = customer
    with assert_max_statements(BUDGETS[ledger_engine]["keyed transfer"]):
        response = transfer(client, source, target, HTTP_IDEMPOTENCY_KEY=str(uuid.uuid4()))
    assert response.status_code == 201, response.json()
    source.refresh_from_db()
    target.refresh_from_db()
    assert (source.balance, target.balance) == (Decimal("487.50"), Decimal("13.50"))


@pytest.mark.django_db(transaction=True)
def test_transfer_without_idempotency_key_stays_within_budget(
    customer, assert_max_statements, ledger_engine
):
    client, source, target = customer
    with assert_max_statements(BUDGETS[ledger_engine]["transfer"]):
        response = transfer(client, source, target)
    assert response.status_code == 201, response.json()


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    ("action", "balance_after"), [("deposit", "512.50"), ("withdraw", "487.50")]
)
def test_deposit_and_withdrawal_stay_within_budget(
    customer, assert_max_statements, ledger_engine, action, balance_after
):
    client, source, _ = customer
    with assert_max_statements(BUDGETS[ledger_engine][action]):
        response = client.post(account_url(source, action), {"amount": "12.50"}, format="json")
    assert response.status_code == 201, response.json()
    assert response.json()["balance_after"] == balance_after


@pytest.mark.django_db(transaction=True)
def test_the_money_limit_on_the_database_cache_stays_within_budget(
    customer, assert_max_statements, settings, ledger_engine
):
    """The embedded default (no REDIS_URL): the counters live in a table of the database."""
    settings.CACHES = {
        "default": {"BACKEND": "security.cache.AtomicDatabaseCache", "LOCATION": "django_cache"}
    }
    client, source, target = customer
    assert transfer(client, source, target).status_code == 201  # the window's first: its counter
    with assert_max_statements(BUDGETS[ledger_engine]["transfer"] + MONEY_LIMIT_ON_DATABASE_CACHE):
        response = transfer(client, source, target)
    assert response.status_code == 201, response.json()


@pytest.mark.django_db(transaction=True)
def test_idempotent_replay_stays_within_budget(customer, assert_max_statements, ledger_engine):
    client, source, target = customer
    key = str(uuid.uuid4())
    first = transfer(client, source, target, HTTP_IDEMPOTENCY_KEY=key)
    with assert_max_statements(BUDGETS[ledger_engine]["replay"]):
        replay = transfer(client, source, target, HTTP_IDEMPOTENCY_KEY=key)
    assert replay.status_code == 201
    assert replay.json() == first.json()
    assert replay["Idempotent-Replayed"] == "true"


@pytest.mark.django_db(transaction=True)
def test_balance_read_stays_within_budget(customer, assert_max_statements, ledger_engine):
    client, source, _ = customer
    with assert_max_statements(BALANCE_BUDGETS[ledger_engine]):
        response = client.get(f"/api/v1/accounts/{source.number}/balance/")
    assert response.status_code == 200
    assert response.json()["balance"] == "500.00"


@pytest.mark.django_db(transaction=True)
def test_transfer_by_a_deactivated_customer_is_refused(customer, user):
    """The token is still within its 5 minutes, but the customer was deactivated since."""
    client, source, target = customer
    user.is_active = False
    user.save(update_fields=["is_active"])

    response = transfer(client, source, target, HTTP_IDEMPOTENCY_KEY=str(uuid.uuid4()))

    assert_problem(response, 401, "authentication_failed")
    source.refresh_from_db()
    assert source.balance == Decimal("500.00")


@pytest.mark.django_db(transaction=True)
def test_transfer_records_the_customer_as_initiator(customer, user):
    client, source, target = customer
    response = transfer(client, source, target)
    assert response.status_code == 201
    posted = Transaction.objects.get(pk=response.json()["id"])
    assert posted.initiated_by_id == user.pk
