"""Who checks a money-moving POST's user: the posting itself under LEDGER_ENGINE="sql",
authentication otherwise, with the same answers (atm_project/authentication.py).

Over HTTP with both engines: a customer deactivated, or whose password changed, since their
token was issued is refused at once on deposit, withdraw and transfer (401, the very problem
any other endpoint answers, nothing moved); an ATM session is still refused on customer-only
endpoints and keeps the full check; a valid customer moves money; a retry under the same
Idempotency-Key gets the 401, not the stored answer. "sql" runs on PostgreSQL only.

Then the authentication itself, with the posting replaced by a recorder (both databases): which
requests carry the token's user, that nothing before the posting queries the user, and that the
posting's refusal reads exactly like simplejwt's.
"""

import hashlib
import uuid

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.tests.factories import issue_test_card
from atm_project.authentication import FieldNotCarried, TokenCarriedUser, user_claims
from atm_project.problems import InsufficientFunds, UserNoLongerValid
from atm_project.testing.clients import account_url, atm_session, token_client
from atm_project.testing.ledger import ledger_snapshot
from atm_project.testing.problems import assert_problem
from audit.models import AuditEvent
from transactions import services
from transactions.models import IdempotencyKey
from users.models import User
from users.tokens import AccessToken

pytestmark = pytest.mark.django_db

TRANSFERS = "/api/v1/transfers/"
MOVES = ("deposit", "withdraw", "transfer")
# simplejwt's words for each, what every endpoint answers such a token.
REFUSAL_DETAIL = {
    "user_inactive": "User is inactive",
    "password_changed": "The user's password has been changed.",
}
REASONS = tuple(REFUSAL_DETAIL)


@pytest.fixture(params=["python", "sql"])
def ledger_engine(request, settings):
    """Each engine in turn; "sql" needs PostgreSQL (its posting is a PL/pgSQL function)."""
    if request.param == "sql" and connection.vendor != "postgresql":
        pytest.skip("LEDGER_ENGINE=sql posts through a PL/pgSQL function: PostgreSQL only")
    settings.LEDGER_ENGINE = request.param
    return request.param


def move(client, kind: str, account, other_account, **headers):
    if kind == "transfer":
        body = {"from_account": account.number, "to_account": other_account.number}
        return client.post(TRANSFERS, {**body, "amount": "10.00"}, format="json", **headers)
    return client.post(account_url(account, kind), {"amount": "10.00"}, format="json", **headers)


def invalidate(user: User, reason: str) -> None:
    """What staff or the customer did after the token was issued."""
    if reason == "user_inactive":
        user.is_active = False
    else:
        user.set_password("a-brand-new-password-8642")
    user.save()


def user_loads(captured) -> int:
    return sum('FROM "users_user"' in query["sql"] for query in captured)


def comparable(response) -> tuple:
    """What a client sees of a refusal, but for the request id, which is per request."""
    body = {key: value for key, value in response.json().items() if key != "request_id"}
    return response.status_code, response["Content-Type"], response["WWW-Authenticate"], body


# --- over HTTP, both engines ---------------------------------------------------------------------


@pytest.mark.parametrize("reason", REASONS)
@pytest.mark.parametrize("kind", MOVES)
def test_a_customer_no_longer_valid_is_refused_at_once_and_nothing_moves(
    ledger_engine, kind, reason, user, auth_client, account, other_account
):
    invalidate(user, reason)
    before = ledger_snapshot()

    refused = move(auth_client, kind, account, other_account, HTTP_IDEMPOTENCY_KEY="k-1")

    body = assert_problem(refused, 401, "authentication_failed")
    assert body["detail"] == REFUSAL_DETAIL[reason]
    # Word for word what any other endpoint answers the same token.
    elsewhere = auth_client.get(f"/api/v1/accounts/{account.number}/")
    assert comparable(refused) == comparable(elsewhere)
    assert ledger_snapshot() == before
    # Nothing reached the ledger, so the key is free for a retry once the customer signs in.
    assert not IdempotencyKey.objects.exists()


@pytest.mark.parametrize("kind", MOVES)
def test_a_valid_customer_moves_money(
    ledger_engine, kind, user, auth_client, account, other_account
):
    with CaptureQueriesContext(connection) as captured:
        response = move(auth_client, kind, account, other_account)
    assert response.status_code == 201, response.content
    # Under "sql" the posting checked the customer: no query loaded them.
    assert user_loads(captured) == (0 if ledger_engine == "sql" else 1)


def test_an_atm_session_is_still_refused_on_customer_only_endpoints(
    ledger_engine, account, other_account
):
    atm = atm_session(issue_test_card(account))
    before = ledger_snapshot()
    refusals = [
        atm.post("/api/v1/accounts/", {}, format="json"),
        atm.post(account_url(other_account, "deposit"), {"amount": "10.00"}, format="json"),
        atm.post(
            TRANSFERS,
            {"from_account": other_account.number, "to_account": account.number, "amount": "1"},
            format="json",
        ),
    ]
    for response in refusals:
        assert_problem(response, 403, "permission_denied")
    assert ledger_snapshot() == before


@pytest.mark.parametrize("reason", REASONS)
def test_an_atm_session_keeps_the_full_check(ledger_engine, reason, user, account):
    atm = atm_session(issue_test_card(account))
    with CaptureQueriesContext(connection) as captured:
        served = atm.post(account_url(account, "deposit"), {"amount": "10.00"}, format="json")
    assert served.status_code == 201, served.content
    assert user_loads(captured) == 1

    invalidate(user, reason)
    before = ledger_snapshot()
    refused = atm.post(account_url(account, "deposit"), {"amount": "10.00"}, format="json")
    assert (
        assert_problem(refused, 401, "authentication_failed")["detail"] == (REFUSAL_DETAIL[reason])
    )
    assert ledger_snapshot() == before


# --- the authentication, with the posting replaced by a recorder -------------------------------


class RecordedPosting:
    """Stands in for a ledger service: keeps the actor it is called with, then raises."""

    def __init__(self, refusal: Exception):
        self.refusal = refusal
        self.actors = []

    def __call__(self, *, actor, **_):
        self.actors.append(actor)
        raise self.refusal


@pytest.fixture
def posting(monkeypatch):
    """`posting(kind, refusal)`: the ledger service of that name (deposit, withdraw, transfer)
    replaced by a RecordedPosting."""

    def replace(kind: str, refusal: Exception | None = None) -> RecordedPosting:
        recorder = RecordedPosting(refusal or InsufficientFunds("Recorded."))
        monkeypatch.setattr(services, kind, recorder)
        return recorder

    return replace


def revocation_claim_of(user: User) -> str:
    # simplejwt's get_md5_hash_password, computed here independently.
    return hashlib.md5(user.password.encode()).hexdigest().upper()  # noqa: S324 - its claim


@pytest.mark.parametrize("kind", MOVES)
def test_under_sql_a_money_post_carries_the_tokens_user_and_never_loads_it(
    settings, posting, kind, user, auth_client, account, other_account
):
    settings.LEDGER_ENGINE = "sql"
    recorder = posting(kind)
    with CaptureQueriesContext(connection) as captured:
        response = move(auth_client, kind, account, other_account, HTTP_IDEMPOTENCY_KEY="k-1")
    assert_problem(response, 422, "insufficient_funds")
    (actor,) = recorder.actors
    assert isinstance(actor, TokenCarriedUser)
    assert user_claims(actor) == (user.pk, revocation_claim_of(user))
    # Permissions, the money limit, the idempotency claim: none of them loaded the user.
    assert user_loads(captured) == 0
    assert IdempotencyKey.objects.get().user_id == user.pk


@pytest.mark.parametrize(
    ("engine", "kind", "token"),
    [
        ("python", "deposit", "customer"),
        ("python", "transfer", "customer"),
        ("sql", "deposit", "atm"),
        ("sql", "transfer", "atm"),
    ],
)
def test_otherwise_the_posting_gets_the_loaded_user(
    settings, posting, engine, kind, token, user, auth_client, account, other_account
):
    settings.LEDGER_ENGINE = engine
    recorder = posting(kind)
    client = auth_client if token == "customer" else atm_session(issue_test_card(account))
    assert move(client, kind, account, other_account).status_code == 422
    (actor,) = recorder.actors
    assert isinstance(actor, User)
    assert user_claims(actor) == (user.pk, None)


def test_under_sql_other_reads_and_posts_still_load_the_user(settings, auth_client, account):
    settings.LEDGER_ENGINE = "sql"
    for request in (
        lambda: auth_client.get(f"/api/v1/accounts/{account.number}/"),
        lambda: auth_client.post(account_url(account, "holds"), {"amount": "1.00"}, format="json"),
        lambda: auth_client.options(account_url(account, "deposit")),
    ):
        with CaptureQueriesContext(connection) as captured:
            assert request().status_code in (200, 201)
        assert user_loads(captured) == 1


@pytest.mark.parametrize("reason", REASONS)
def test_the_postings_refusal_reads_exactly_like_authentications(
    settings, posting, reason, user, auth_client, account, other_account
):
    settings.LEDGER_ENGINE = "sql"
    posting("transfer", UserNoLongerValid())
    invalidate(user, reason)
    refused_by_posting = move(auth_client, "transfer", account, other_account)
    refused_by_authentication = auth_client.get(f"/api/v1/accounts/{account.number}/")
    assert comparable(refused_by_posting) == comparable(refused_by_authentication)
    assert refused_by_posting.status_code == 401


def test_a_user_the_token_names_no_more_reads_the_same_too(settings, posting, account):
    settings.LEDGER_ENGINE = "sql"
    posting("deposit", UserNoLongerValid())
    # A genuine token of a user that does not exist (deleted since, say).
    client = token_client(str(AccessToken.for_user(User(pk=2**40, password="md5$gone$0123"))))
    refused_by_posting = client.post(
        account_url(account, "deposit"), {"amount": "1.00"}, format="json"
    )
    refused_by_authentication = client.get("/api/v1/accounts/")
    assert comparable(refused_by_posting) == comparable(refused_by_authentication)
    assert refused_by_posting.status_code == 401


def test_a_retry_under_the_same_key_is_refused_once_the_customer_is_no_longer_valid(
    ledger_engine, user, auth_client, account, other_account
):
    """The stored answer is not handed to a token revoked since: the user is checked before
    the key is looked at (by authentication, or first thing in the SQL posting)."""
    key = {"HTTP_IDEMPOTENCY_KEY": str(uuid.uuid4())}
    assert move(auth_client, "transfer", account, other_account, **key).status_code == 201
    invalidate(user, "password_changed")
    before = ledger_snapshot()
    retried = move(auth_client, "transfer", account, other_account, **key)
    body = assert_problem(retried, 401, "authentication_failed")
    assert body["detail"] == REFUSAL_DETAIL["password_changed"]
    assert "Idempotent-Replayed" not in retried.headers
    assert ledger_snapshot() == before


def test_a_refusal_for_a_user_valid_again_by_now_is_still_a_401(
    settings, posting, auth_client, account, other_account
):
    """Reactivated between the posting's check and the answer: the refusal stands, in
    general words (nothing moved)."""
    settings.LEDGER_ENGINE = "sql"
    posting("transfer", UserNoLongerValid())
    body = assert_problem(
        move(auth_client, "transfer", account, other_account), 401, "authentication_failed"
    )
    assert body["detail"] == "Authentication failed"


def test_under_sql_the_money_limit_counts_and_audits_the_tokens_user(
    settings, posting, user, auth_client, account, other_account
):
    settings.LEDGER_ENGINE = "sql"
    settings.RATELIMIT_MONEY_RATE = "1/m"
    posting("deposit")
    move(auth_client, "deposit", account, other_account)
    with CaptureQueriesContext(connection) as captured:
        throttled = move(auth_client, "deposit", account, other_account)
    assert_problem(throttled, 429, "throttled")
    assert user_loads(captured) == 0
    assert AuditEvent.objects.get(action="security.throttled").actor_id == user.pk


# --- the token-carried user ----------------------------------------------------------------------


@pytest.fixture
def carried(user, auth_client, settings, posting, account, other_account) -> TokenCarriedUser:
    """The user a money POST under "sql" hands its posting."""
    settings.LEDGER_ENGINE = "sql"
    recorder = posting("deposit")
    move(auth_client, "deposit", account, other_account)
    return recorder.actors[0]


def test_a_token_carried_user_carries_its_id_and_claim_and_nothing_else(carried, user):
    assert (carried.pk, carried.id) == (user.pk, user.pk)
    assert carried.revocation_claim == revocation_claim_of(user)
    assert carried.is_authenticated and not carried.is_anonymous
    assert carried.is_active and not carried.is_staff and not carried.is_superuser
    for field in ("username", "email", "password", "groups", "has_perm", "_meta"):
        with pytest.raises(FieldNotCarried, match=field):
            getattr(carried, field, None)
    with pytest.raises(FieldNotCarried):
        hasattr(carried, "last_login")
    assert str(carried) == f"user {user.pk} (from the token)"


@pytest.mark.parametrize("reason", REASONS)
def test_under_sql_a_balance_read_checks_the_user_in_its_one_statement(
    requires_postgres, settings, reason, user, auth_client, account
):
    settings.LEDGER_ENGINE = "sql"
    with CaptureQueriesContext(connection) as captured:
        shown = auth_client.get(account_url(account, "balance"))
    assert shown.status_code == 200
    assert (len(captured), user_loads(captured)) == (1, 0)

    invalidate(user, reason)
    refused = auth_client.get(account_url(account, "balance"))

    body = assert_problem(refused, 401, "authentication_failed")
    assert body["detail"] == REFUSAL_DETAIL[reason]
    assert comparable(refused) == comparable(auth_client.get(f"/api/v1/accounts/{account.number}/"))
