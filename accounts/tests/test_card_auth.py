"""ATM sign-in with card + PIN: the session token, its confinement, and the three-strike block."""

import uuid
from datetime import timedelta
from unittest import mock

import pytest
from django.contrib.auth.hashers import make_password
from django.utils import timezone
from drf_spectacular.generators import EndpointEnumerator
from rest_framework.permissions import AllowAny
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import AccessToken, RefreshToken

from accounts import cards
from accounts.models import Account, Card
from accounts.tests.factories import TEST_PIN, AccountFactory, issue_test_card
from accounts.tokens import ATMAccessToken
from atm_project.problems import CardBlocked
from atm_project.testing.clients import CARD_SIGN_IN_URL, atm_session, card_sign_in, token_client
from atm_project.testing.problems import assert_problem
from atm_project.testing.racing import race
from transactions.models import Transaction


@pytest.fixture
def card(account):
    return issue_test_card(account)


@pytest.fixture
def session(card) -> APIClient:
    return atm_session(card)


def attempts_of(card) -> tuple[int, str]:
    card.refresh_from_db()
    return card.failed_attempts, card.status


# --- sign-in ---------------------------------------------------------------------------------


@pytest.mark.django_db
def test_right_pin_returns_a_two_minute_atm_token_for_the_cards_account(card):
    response = card_sign_in(card.number)

    assert response.status_code == 200, response.content
    body = response.json()
    assert set(body) == {"access", "account_number", "expires_in"}
    assert body["account_number"] == card.account.number
    assert body["expires_in"] == 120
    token = ATMAccessToken(body["access"])
    assert token["token_type"] == "atm"
    assert token["exp"] - token["iat"] == 120
    assert token["account_number"] == card.account.number
    assert token["user_id"] == str(card.account.owner_id)


@pytest.mark.django_db
def test_wrong_pin_is_refused_and_counted(card):
    body = assert_problem(card_sign_in(card.number, "1357"), 401, "authentication_failed")

    assert "access" not in body
    assert attempts_of(card) == (1, "active")


@pytest.mark.django_db
def test_third_wrong_pin_blocks_the_card_even_for_the_right_pin(card):
    for _ in range(2):
        assert_problem(card_sign_in(card.number, "1357"), 401, "authentication_failed")
    assert_problem(card_sign_in(card.number, "1357"), 423, "card_blocked")

    assert attempts_of(card) == (3, "blocked")
    assert_problem(card_sign_in(card.number), 423, "card_blocked")
    assert attempts_of(card) == (3, "blocked")


@pytest.mark.django_db
def test_right_pin_resets_the_count(card):
    for _ in range(2):
        card_sign_in(card.number, "1357")

    assert card_sign_in(card.number).status_code == 200
    assert attempts_of(card) == (0, "active")
    for _ in range(2):
        assert_problem(card_sign_in(card.number, "1357"), 401, "authentication_failed")
    assert attempts_of(card) == (2, "active")


@pytest.mark.django_db
def test_unblocked_card_signs_in_again(card):
    for _ in range(3):
        card_sign_in(card.number, "1357")

    cards.unblock_card(card_number=card.number, actor=None, reason="identity checked")

    assert card_sign_in(card.number).status_code == 200


@pytest.mark.django_db
def test_unknown_card_answers_like_a_wrong_pin(card):
    wrong_pin = assert_problem(card_sign_in(card.number, "1357"), 401, "authentication_failed")
    with mock.patch("accounts.cards.make_password", wraps=make_password) as hasher:
        unknown = assert_problem(card_sign_in("4000000000000002"), 401, "authentication_failed")

    assert unknown["title"] == wrong_pin["title"] and unknown["detail"] == wrong_pin["detail"]
    # The PIN is hashed even for an unknown card, so it costs the same time as a wrong PIN.
    hasher.assert_called_once_with(TEST_PIN)


@pytest.mark.django_db
def test_expired_card_never_signs_in_nor_counts(account):
    card = issue_test_card(account, expires_on=timezone.localdate() - timedelta(days=1))

    assert_problem(card_sign_in(card.number), 401, "authentication_failed")
    assert attempts_of(card) == (0, "active")


@pytest.mark.django_db
def test_card_on_a_closed_account_does_not_sign_in(card):
    Account.objects.filter(pk=card.account_id).update(status=Account.Status.CLOSED)
    assert_problem(card_sign_in(card.number), 409, "account_not_active")


@pytest.mark.django_db
def test_card_of_a_deactivated_customer_does_not_sign_in(card):
    card.account.owner.__class__.objects.filter(pk=card.account.owner_id).update(is_active=False)
    assert_problem(card_sign_in(card.number), 401, "authentication_failed")


@pytest.mark.django_db
@pytest.mark.parametrize(
    "body, field",
    [
        ({"card_number": "4000001234", "pin": TEST_PIN}, "card_number"),
        ({"card_number": "4000 0012 3456 7899", "pin": TEST_PIN}, "card_number"),
        ({"pin": TEST_PIN}, "card_number"),
        ({"card_number": "4000001234567899", "pin": "12"}, "pin"),
        ({"card_number": "4000001234567899"}, "pin"),
    ],
)
def test_malformed_sign_in_is_a_validation_error_and_not_an_attempt(api_client, card, body, field):
    body = dict(body)
    if body.get("card_number") == "4000001234567899":
        body["card_number"] = card.number

    problem = assert_problem(
        api_client.post(CARD_SIGN_IN_URL, body, format="json"), 400, "validation_error"
    )

    assert field in problem["errors"]
    assert attempts_of(card) == (0, "active")


@pytest.mark.django_db
def test_the_pin_never_reaches_the_logs(card, caplog):
    caplog.set_level("DEBUG")
    card_sign_in(card.number, "1357")
    card_sign_in(card.number)

    assert "1357" not in caplog.text and TEST_PIN not in caplog.text


# --- what the token is and is not ------------------------------------------------------------


@pytest.mark.django_db
def test_atm_token_cannot_be_refreshed_or_used_as_a_refresh(api_client, card):
    access = card_sign_in(card.number).json()["access"]

    response = api_client.post("/api/v1/auth/token/refresh/", {"refresh": access}, format="json")

    assert_problem(response, 401, "authentication_failed")


@pytest.mark.django_db
def test_customer_tokens_are_not_atm_tokens(user, account):
    customer_access = str(AccessToken.for_user(user))
    refresh = str(RefreshToken.for_user(user))

    for token in (customer_access, refresh):
        with pytest.raises(Exception, match="wrong type"):
            ATMAccessToken(token)
    # A refresh token is no bearer token at all.
    assert_problem(
        token_client(refresh).get(f"/api/v1/accounts/{account.number}/balance/"),
        401,
        "authentication_failed",
    )


@pytest.mark.django_db
def test_expired_atm_token_is_refused(card):
    token = ATMAccessToken.for_card(card)
    token.set_exp(from_time=timezone.now() - timedelta(minutes=3))

    response = token_client(str(token)).get(f"/api/v1/accounts/{card.account.number}/balance/")

    assert_problem(response, 401, "authentication_failed")


@pytest.mark.django_db
def test_a_card_blocked_after_sign_in_loses_its_session(session, card):
    Card.objects.filter(pk=card.pk).update(status=Card.Status.BLOCKED)

    response = session.get(f"/api/v1/accounts/{card.account.number}/balance/")

    assert_problem(response, 403, "permission_denied")


# --- confinement: what an ATM session may do -------------------------------------------------


@pytest.mark.django_db
def test_atm_session_reads_its_accounts_balance_and_history(session, card):
    number = card.account.number

    balance = session.get(f"/api/v1/accounts/{number}/balance/")
    history = session.get(f"/api/v1/accounts/{number}/transactions/")
    mini = session.get(f"/api/v1/accounts/{number}/mini-statement/")

    assert balance.status_code == 200 and balance.json()["balance"] == "500.00"
    assert history.status_code == 200 and len(history.json()["results"]) == 1
    assert mini.status_code == 200 and mini.json()["balance"] == "500.00"


@pytest.mark.django_db
def test_atm_session_deposits_and_withdraws_on_its_account(session, card):
    number = card.account.number

    deposit = session.post(f"/api/v1/accounts/{number}/deposit/", {"amount": "50"}, format="json")
    withdrawal = session.post(
        f"/api/v1/accounts/{number}/withdraw/", {"amount": "20.00"}, format="json"
    )

    assert deposit.status_code == 201 and deposit.json()["balance_after"] == "550.00"
    assert withdrawal.status_code == 201 and withdrawal.json()["balance_after"] == "530.00"


@pytest.mark.django_db
def test_atm_session_transfers_from_its_account_only(session, card, user, other_account):
    own_savings = AccountFactory(owner=user, balance="10.00")

    to_other = session.post(
        "/api/v1/transfers/",
        {"from_account": card.account.number, "to_account": other_account.number, "amount": "5"},
        format="json",
    )
    from_savings = session.post(
        "/api/v1/transfers/",
        {"from_account": own_savings.number, "to_account": card.account.number, "amount": "5"},
        format="json",
    )

    assert to_other.status_code == 201, to_other.content
    assert to_other.json()["balance_after"] == "495.00"
    assert_problem(from_savings, 403, "permission_denied")


@pytest.mark.django_db
def test_atm_session_sees_only_its_accounts_transactions(session, card, user):
    savings = AccountFactory(owner=user, balance="10.00")
    own = Transaction.objects.get(account=card.account)
    elsewhere = Transaction.objects.get(account=savings)

    listed = session.get("/api/v1/transactions/")
    filtered = session.get(f"/api/v1/transactions/?account={savings.number}")

    assert listed.status_code == 200
    assert [t["id"] for t in listed.json()["results"]] == [str(own.id)]
    assert filtered.json()["results"] == []
    assert session.get(f"/api/v1/transactions/{own.id}/").status_code == 200
    assert_problem(session.get(f"/api/v1/transactions/{elsewhere.id}/"), 404, "not_found")


# Every (method, route) an ATM session may use; any other route below must answer 403.
ATM_ROUTES = {
    ("GET", "/api/v1/accounts/{number}/balance/"),
    ("POST", "/api/v1/accounts/{number}/deposit/"),
    ("POST", "/api/v1/accounts/{number}/withdraw/"),
    ("POST", "/api/v1/accounts/{number}/holds/"),
    ("GET", "/api/v1/holds/"),
    ("GET", "/api/v1/holds/{pk}/"),
    ("POST", "/api/v1/holds/{pk}/capture/"),
    ("POST", "/api/v1/holds/{pk}/void/"),
    ("GET", "/api/v1/accounts/{number}/transactions/"),
    ("GET", "/api/v1/accounts/{number}/mini-statement/"),
    ("GET", "/api/v1/transactions/"),
    ("GET", "/api/v1/transactions/{pk}/"),
    ("POST", "/api/v1/transfers/"),
    ("POST", "/api/v1/auth/card/extend/"),
}
# Routes for ATM sessions alone; a customer's token is refused there (test_card_extend.py).
ATM_ONLY_ROUTES = {("POST", "/api/v1/auth/card/extend/")}


def _is_public(callback) -> bool:
    """Endpoints that take no bearer token at all (sign-in, register, schema...)."""
    view = callback.cls
    no_auth = view.authentication_classes in ([], ())
    open_to_all = all(issubclass(p, AllowAny) for p in view.permission_classes)
    return no_auth or open_to_all


def _api_routes() -> list[tuple[str, str]]:
    return sorted(
        (method, path)
        for path, _regex, method, callback in EndpointEnumerator().get_api_endpoints()
        if path.startswith("/api/v1/") and not _is_public(callback)
    )


ALL_ROUTES = _api_routes()
FORBIDDEN_ROUTES = [route for route in ALL_ROUTES if route not in ATM_ROUTES]


def test_every_atm_route_exists():
    assert set(ALL_ROUTES) >= ATM_ROUTES


def _fill(path: str, number: str) -> str:
    return path.replace("{number}", number).replace("{pk}", str(uuid.uuid4()))


@pytest.mark.django_db
@pytest.mark.parametrize("method, path", FORBIDDEN_ROUTES)
def test_atm_session_is_refused_everywhere_else(session, card, method, path):
    url = _fill(path, card.account.number)

    response = session.generic(method, url, "{}", content_type="application/json")

    assert_problem(response, 403, "permission_denied")


@pytest.mark.django_db
@pytest.mark.parametrize(
    "method, path", sorted(route for route in ATM_ROUTES if "{number}" in route[1])
)
def test_atm_session_is_refused_on_other_accounts(session, user, other_account, method, path):
    own_savings = AccountFactory(owner=user, balance="10.00")

    for account in (own_savings, other_account):
        response = session.generic(
            method, _fill(path, account.number), '{"amount": "1"}', content_type="application/json"
        )
        assert_problem(response, 403, "permission_denied")


# What a customer's token gets for "{}" on each route: served, or refused for the body or the
# state of the (funded) account, never 403 like an ATM session. None: a success, no problem code.
CUSTOMER_ANSWERS = {
    ("GET", "/api/v1/accounts/"): (200, None),
    ("POST", "/api/v1/accounts/"): (201, None),
    ("GET", "/api/v1/accounts/{number}/"): (200, None),
    ("GET", "/api/v1/accounts/{number}/balance/"): (200, None),
    ("POST", "/api/v1/accounts/{number}/cards/"): (400, "validation_error"),
    ("POST", "/api/v1/accounts/{number}/close/"): (409, "account_not_empty"),
    ("POST", "/api/v1/accounts/{number}/deposit/"): (400, "validation_error"),
    ("POST", "/api/v1/accounts/{number}/holds/"): (400, "validation_error"),
    ("GET", "/api/v1/accounts/{number}/mini-statement/"): (200, None),
    ("GET", "/api/v1/accounts/{number}/statement/"): (400, "validation_error"),
    ("GET", "/api/v1/accounts/{number}/transactions/"): (200, None),
    ("POST", "/api/v1/accounts/{number}/withdraw/"): (400, "validation_error"),
    ("POST", "/api/v1/auth/password/change/"): (400, "validation_error"),
    ("GET", "/api/v1/transactions/"): (200, None),
    ("GET", "/api/v1/transactions/{pk}/"): (404, "not_found"),  # a random id
    ("POST", "/api/v1/transfers/"): (400, "validation_error"),
    ("GET", "/api/v1/holds/"): (200, None),
    ("GET", "/api/v1/holds/{pk}/"): (404, "not_found"),  # a random id
    ("POST", "/api/v1/holds/{pk}/capture/"): (404, "not_found"),
    ("POST", "/api/v1/holds/{pk}/void/"): (404, "not_found"),
    ("GET", "/api/v1/users/me/"): (200, None),
    ("PATCH", "/api/v1/users/me/"): (200, None),
}


@pytest.mark.django_db
@pytest.mark.parametrize("method, path", sorted(set(ALL_ROUTES) - ATM_ONLY_ROUTES))
def test_customer_token_is_not_refused_as_an_atm(auth_client, account, method, path):
    assert (method, path) in CUSTOMER_ANSWERS, "a new route: add what a customer gets"
    status, code = CUSTOMER_ANSWERS[(method, path)]
    url = _fill(path, account.number)

    response = auth_client.generic(method, url, "{}", content_type="application/json")

    if code is None:
        assert response.status_code == status, response.content
    else:
        assert_problem(response, status, code)


# --- racing wrong PINs (PostgreSQL row locks) ------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_racing_wrong_pins_get_exactly_three_tries(requires_postgres, account):
    card = issue_test_card(account)

    outcomes = race(
        10,
        lambda _: cards.sign_in_with_card(card_number=card.number, pin="1357"),
        return_exceptions=True,
    )

    wrong_pin = [o for o in outcomes if o is not None and getattr(o, "status_code", None) == 401]
    blocked = [o for o in outcomes if isinstance(o, CardBlocked)]
    assert len(outcomes) == 10
    assert len(wrong_pin) == 2, outcomes
    assert len(blocked) == 8
    assert sum("now blocked" in error.detail for error in blocked) == 1
    assert attempts_of(card) == (3, "blocked")
    with pytest.raises(CardBlocked):
        cards.sign_in_with_card(card_number=card.number, pin=TEST_PIN)
