"""The staff admin: who sees what, what nobody can change, and the audited actions."""

from decimal import Decimal

import pytest
from django.contrib import admin
from django.urls import reverse

from accounts import cards
from accounts.models import Account, Card
from audit.models import AuditEvent
from audit.services import record_event
from backoffice.models import ApprovalRequest
from transactions import services as ledger
from transactions.models import Entry, Hold, IdempotencyKey, Transaction
from users.models import User
from users.tests.factories import UserFactory

pytestmark = pytest.mark.django_db

ROWS = 100
# A change list or change page costs the same few queries however many rows it shows.
MAX_PAGE_QUERIES = 12
# An account's change page tells its whole story (status change, cards, pending holds, requests,
# entries, events): one query per section, still the same however long its history.
MAX_ACCOUNT_PAGE_QUERIES = 13
CARD_PIN = "2580"
MODELS = (User, Account, Card, Transaction, Entry, AuditEvent, Hold)
READ_ONLY_MODELS = (Transaction, Entry, AuditEvent, Hold)


def _url(model, view: str, *args) -> str:
    opts = model._meta
    return reverse(f"admin:{opts.app_label}_{opts.model_name}_{view}", args=args)


def _open_bank(account_factory, customers: int) -> list[Account]:
    """Customers, each with a funded account, a card and a hold; one transfer; a busy audit
    trail."""
    accounts = [account_factory(balance="100.00") for _ in range(customers)]
    for account in accounts:
        cards.issue_card(account_number=account.number, owner=account.owner, pin=CARD_PIN)
        ledger.create_hold(
            account_number=account.number, amount=Decimal("5.00"), actor=account.owner
        )
        record_event(action="test.filler", actor=account.owner)
    ledger.transfer(
        from_account=accounts[0].number,
        to_account=accounts[1].number,
        amount=Decimal("10.00"),
        actor=accounts[0].owner,
    )
    return accounts


@pytest.fixture
def bank(account_factory):
    return _open_bank(account_factory, 4)


@pytest.fixture
def big_bank(account_factory):
    return _open_bank(account_factory, ROWS)


def test_change_lists_and_change_pages_render_for_every_role_in_bounded_queries(
    superuser, teller, auditor, staff_client, big_bank, django_assert_max_num_queries
):
    # One bank of ROWS rows for every model and role: building it is the slow part.
    for model in MODELS:
        obj = model.objects.order_by("pk").last()
        for staff in (superuser, teller, auditor):
            client = staff_client(staff)
            with django_assert_max_num_queries(MAX_PAGE_QUERIES):
                page = client.get(_url(model, "changelist"))
            assert page.status_code == 200, (model, staff)
            assert len(page.context["cl"].result_list) == ROWS, (model, staff)
            budget = MAX_ACCOUNT_PAGE_QUERIES if model is Account else MAX_PAGE_QUERIES
            with django_assert_max_num_queries(budget):
                page = client.get(_url(model, "change", obj.pk))
            assert page.status_code == 200, (model, staff)


def test_admin_is_branded_for_the_bank(superuser, staff_client):
    page = staff_client(superuser).get(reverse("admin:index"))
    assert b"ATM Bank staff" in page.content


def test_full_card_numbers_and_pin_hashes_never_appear(superuser, staff_client, bank):
    client = staff_client(superuser)
    card = Card.objects.order_by("pk").first()
    for url in (_url(Card, "changelist"), _url(Card, "change", card.pk)):
        content = client.get(url).content.decode()
        assert card.number not in content
        assert card.pin_hash not in content
        assert card.masked_number in content


@pytest.mark.parametrize("model", READ_ONLY_MODELS, ids=lambda model: model.__name__)
def test_history_cannot_be_added_changed_or_deleted_by_anyone(
    model, superuser, teller, auditor, staff_client, bank, rf
):
    obj = model.objects.order_by("pk").first()
    model_admin = admin.site._registry[model]
    for staff in (superuser, teller, auditor):
        client = staff_client(staff)
        assert client.get(_url(model, "add")).status_code == 403, staff
        assert client.post(_url(model, "add"), {}).status_code == 403, staff
        assert client.post(_url(model, "change", obj.pk), {}).status_code == 403, staff
        assert client.get(_url(model, "delete", obj.pk)).status_code == 403, staff
        assert client.post(_url(model, "delete", obj.pk), {"post": "yes"}).status_code == 403
        request = rf.get("/")
        request.user = staff
        assert not model_admin.has_add_permission(request)
        assert not model_admin.has_change_permission(request, obj)
        assert not model_admin.has_delete_permission(request, obj)
        assert "delete_selected" not in model_admin.get_actions(request)
    assert model.objects.filter(pk=obj.pk).exists()


def test_entries_inline_are_read_only(superuser, staff_client, bank, rf):
    page = staff_client(superuser).get(
        _url(Transaction, "change", Transaction.objects.order_by("created_at").first().pk)
    )
    inline = page.context["inline_admin_formsets"][0]
    assert inline.formset.model is Entry
    assert not inline.has_add_permission
    assert not inline.has_change_permission
    assert not inline.has_delete_permission


def test_balances_are_never_editable_and_accounts_never_added(superuser, staff_client, bank):
    client = staff_client(superuser)
    account = bank[0]
    assert client.get(_url(Account, "add")).status_code == 403
    response = client.post(_url(Account, "change", account.pk), {"balance": "999999.00"})
    assert response.status_code == 403
    account.refresh_from_db()
    assert account.balance == Decimal("90.00")


def _action_names(client, model) -> set[str]:
    form = client.get(_url(model, "changelist")).context["action_form"]
    if form is None:  # no action at all for this user
        return set()
    return {name for name, _ in form.fields["action"].choices if name}


def test_each_role_sees_only_the_actions_it_may_take(
    superuser, teller, auditor, staff_client, bank
):
    account_actions = {"freeze", "unfreeze", "unblock_cards", "change_daily_limit"}
    assert _action_names(staff_client(superuser), Account) == account_actions
    assert _action_names(staff_client(teller), Account) == account_actions
    assert _action_names(staff_client(teller), Card) == {"unblock"}
    assert _action_names(staff_client(auditor), Account) == set()
    assert _action_names(staff_client(auditor), Card) == set()
    assert _action_names(staff_client(superuser), Transaction) == {"reverse", "export_csv"}
    assert _action_names(staff_client(teller), Transaction) == {"reverse", "export_csv"}
    assert _action_names(staff_client(auditor), Transaction) == {"export_csv"}
    assert _action_names(staff_client(auditor), AuditEvent) == {"export_csv"}


def _run_action(client, model, action: str, objects, **form):
    data = {"action": action, "_selected_action": [str(obj.pk) for obj in objects], **form}
    return client.post(_url(model, "changelist"), data)


def test_freeze_asks_for_a_reason_first_then_freezes_and_audits(teller, staff_client, bank):
    client = staff_client(teller)
    account = bank[0]
    page = _run_action(client, Account, "freeze", [account])
    assert page.status_code == 200
    assert "reason" in page.context["form"].fields
    assert account.number in page.content.decode()
    page = _run_action(client, Account, "freeze", [account], apply="1", reason="   ")
    assert page.status_code == 200
    assert page.context["form"].errors["reason"]
    account.refresh_from_db()
    assert account.status == Account.Status.ACTIVE

    done = _run_action(client, Account, "freeze", [account], apply="1", reason="Lost wallet")
    assert done.status_code == 302
    account.refresh_from_db()
    assert account.status == Account.Status.FROZEN
    event = AuditEvent.objects.get(action="admin.freeze")
    assert event.actor == teller
    assert event.data == {"reason": "Lost wallet", "done": [str(account.pk)], "refused": {}}


def test_unfreeze_by_a_teller_files_a_request_and_is_audited(teller, staff_client, bank):
    account = bank[0]
    from accounts import services

    services.freeze_account(number=account.number, actor=teller, reason="Suspicious")
    response = _run_action(
        staff_client(teller), Account, "unfreeze", [account], apply="1", reason="Cleared"
    )
    assert response.status_code == 302
    account.refresh_from_db()
    assert account.status == Account.Status.FROZEN  # until a supervisor approves
    assert ApprovalRequest.objects.get(account=account).requested_by == teller
    assert AuditEvent.objects.get(action="admin.unfreeze").data["reason"] == "Cleared"


def test_a_refused_action_is_reported_and_audited(teller, staff_client, bank):
    account = bank[0]  # no blocked card: nothing to unblock
    response = _run_action(
        staff_client(teller), Account, "unblock_cards", [account], apply="1", reason="Mistake"
    )
    assert response.status_code == 302
    event = AuditEvent.objects.get(action="admin.unblock_cards")
    assert list(event.data["refused"]) == [str(account.pk)]


def _block(card: Card) -> None:
    for _ in range(cards.MAX_PIN_ATTEMPTS):
        try:
            cards.sign_in_with_card(card_number=card.number, pin="1357")
        except Exception:  # noqa: S112 - each wrong PIN is refused; the third blocks
            continue
    card.refresh_from_db()
    assert card.is_blocked


@pytest.mark.parametrize("model", [Card, Account], ids=["from cards", "from accounts"])
def test_unblock_card_asks_for_a_reason_and_is_audited(model, teller, staff_client, bank):
    card = Card.objects.order_by("pk").first()
    _block(card)
    target = card if model is Card else card.account
    action = "unblock" if model is Card else "unblock_cards"
    client = staff_client(teller)
    assert _run_action(client, model, action, [target]).status_code == 200
    response = _run_action(client, model, action, [target], apply="1", reason="ID checked")
    assert response.status_code == 302
    card.refresh_from_db()
    assert card.is_blocked  # until a supervisor approves the request
    assert ApprovalRequest.objects.get(card=card).reason == "ID checked"
    event = AuditEvent.objects.get(action=f"admin.{action}")
    assert (event.actor, event.data["reason"]) == (teller, "ID checked")
    assert card.number not in str(event.data)


def test_an_auditor_cannot_run_a_tellers_action(auditor, staff_client, bank):
    account = bank[0]
    _run_action(staff_client(auditor), Account, "freeze", [account], apply="1", reason="x")
    account.refresh_from_db()
    assert account.status == Account.Status.ACTIVE
    assert not AuditEvent.objects.filter(action="admin.freeze").exists()


def test_reverse_needs_a_reason_and_a_confirmation(superuser, staff_client, bank):
    client = staff_client(superuser)
    posted = Transaction.objects.get(kind=Transaction.Kind.TRANSFER)
    page = _run_action(client, Transaction, "reverse", [posted], apply="1", reason="Duplicate")
    assert page.status_code == 200
    assert page.context["form"].errors["confirm"]
    posted.refresh_from_db()
    assert posted.status == Transaction.Status.POSTED

    response = _run_action(
        client, Transaction, "reverse", [posted], apply="1", reason="Duplicate", confirm="on"
    )
    assert response.status_code == 302
    posted.refresh_from_db()
    assert posted.status == Transaction.Status.POSTED  # until a supervisor approves
    assert ApprovalRequest.objects.get(transaction=posted).requested_by == superuser
    event = AuditEvent.objects.get(action="admin.reverse")
    assert (event.actor, event.data["reason"]) == (superuser, "Duplicate")


def test_transactions_are_found_by_id_account_number_and_idempotency_key(
    superuser, staff_client, bank
):
    client = staff_client(superuser)
    posted = Transaction.objects.get(kind=Transaction.Kind.TRANSFER)
    IdempotencyKey.objects.create(
        user=posted.initiated_by, key="key-123", fingerprint="f", transaction=posted
    )
    changelist = _url(Transaction, "changelist")
    for term in (str(posted.pk), bank[1].number, "key-123"):
        found = client.get(changelist, {"q": term}).context["cl"].result_list
        assert posted in found, term
    assert client.get(changelist, {"q": "not-a-uuid"}).status_code == 200


def test_accounts_are_found_by_number_owner_and_email(superuser, staff_client, bank):
    client = staff_client(superuser)
    account = bank[3]
    for term in (account.number, account.owner.username, account.owner.email):
        found = client.get(_url(Account, "changelist"), {"q": term}).context["cl"].result_list
        assert account in found, term


def test_audit_events_export_as_streamed_csv_and_the_export_is_audited(auditor, staff_client):
    actor = UserFactory(username="=exported")  # a spreadsheet would run it as a formula
    events = [record_event(action="test.export", actor=actor, data={"n": n}) for n in range(3)]
    response = _run_action(staff_client(auditor), AuditEvent, "export_csv", events)
    assert response.status_code == 200
    assert response.streaming
    assert response["Content-Type"] == "text/csv"
    lines = b"".join(response.streaming_content).decode().splitlines()
    assert lines[0].startswith("id,chain,seq,created_at,actor,action")
    assert len(lines) == 4
    assert all(",'=exported,test.export," in line for line in lines[1:])
    assert AuditEvent.objects.filter(action="admin.export_audit_events", actor=auditor).exists()


def test_audit_events_are_searchable_by_actor_and_action(auditor, staff_client):
    actor = UserFactory(username="needle")
    wanted = record_event(action="money.deposit", actor=actor)
    record_event(action="auth.login")
    changelist = _url(AuditEvent, "changelist")
    client = staff_client(auditor)
    assert list(client.get(changelist, {"q": "needle"}).context["cl"].result_list) == [wanted]
    found = client.get(changelist, {"q": "money."}).context["cl"].result_list
    assert list(found) == [wanted]
    assert client.get(changelist, {"action": "money.deposit"}).status_code == 200


def test_setup_roles_is_idempotent_and_grants_no_change_permission(roles):
    from audit.roles import setup_roles

    again = setup_roles()
    assert again["Tellers"].pk == roles["Tellers"].pk
    for group in again.values():
        codenames = set(group.permissions.values_list("codename", flat=True))
        assert "view_transaction" in codenames and "view_auditevent" in codenames
        assert not {c for c in codenames if c.split("_")[0] in {"add", "change", "delete"}}
    tellers = set(again["Tellers"].permissions.values_list("codename", flat=True))
    supervisors = set(again["Supervisors"].permissions.values_list("codename", flat=True))
    auditors = set(again["Auditors"].permissions.values_list("codename", flat=True))
    assert tellers - auditors == {"freeze_account", "file_request"}
    assert supervisors - tellers == {"decide_request"}
