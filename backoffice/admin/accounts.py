"""Staff view of accounts and cards: an account's whole story on one page.

Read-only: balances change only through the ledger, accounts are opened by customers. Freezing
is immediate (a safety action); unfreezing, unblocking a card and changing the daily limit are
four-eyes requests (backoffice.approvals) that a different supervisor approves.
"""

from datetime import date

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import CharField, Q
from django.db.models.functions import Cast
from django.http import HttpResponseRedirect, StreamingHttpResponse
from django.shortcuts import get_object_or_404
from django.urls import path, reverse
from django.utils import timezone

from accounts import services
from accounts.models import CASH_SUBACCOUNTS, Account, Card
from accounts.selectors import cash_positions
from atm_project.problems import DomainError
from audit.admin_mixins import ReadOnlyAdmin, StaffPermissionsMixin
from audit.models import AuditEvent
from audit.search import events_naming_account
from audit.staff_actions import staff_action
from transactions.api.statements import csv_chunks, csv_filename
from transactions.models import Entry
from transactions.selectors import pending_holds_of
from transactions.statements import build_statement, validate_period

from .. import approvals
from ..models import ApprovalRequest

NEWEST = 10
STATUS_EVENTS = ("account.frozen", "account.unfrozen", "account.closed", "account.opened")


class NoBlockedCard(DomainError):
    status, code, title = 409, "card_not_blocked", "No blocked card"


class FourEyesMixin(StaffPermissionsMixin):
    def has_file_request_permission(self, request):
        return approvals.may_file(request.user)


def _limit_field():
    return forms.DecimalField(
        label="New daily withdrawal limit", min_value=0, max_digits=18, decimal_places=2
    )


@admin.register(Account)
class AccountAdmin(FourEyesMixin, ReadOnlyAdmin):
    list_display = ("number", "owner", "kind", "currency", "balance", "status", "opened_at")
    list_select_related = ("owner",)
    list_filter = ("status", "kind", "currency")
    search_fields = ("^number", "owner__username", "owner__email")
    readonly_fields = (
        "number",
        "owner",
        "kind",
        "currency",
        "balance",
        "status",
        "daily_withdrawal_limit",
        "opened_at",
        "cash_shard",
    )
    fields = readonly_fields
    actions = ("freeze", "unfreeze", "unblock_cards", "change_daily_limit")
    show_full_result_count = False
    change_form_template = "backoffice/account_change_form.html"
    change_list_template = "backoffice/account_change_list.html"

    def changelist_view(self, request, extra_context=None):
        # The bank's cash is split over CASH_SUBACCOUNTS internal accounts per currency: what
        # no single row shows any more, the list sums up.
        extra_context = {
            **(extra_context or {}),
            "cash_positions": cash_positions(),
            "cash_subaccounts": CASH_SUBACCOUNTS,
        }
        return super().changelist_view(request, extra_context)

    def has_freeze_permission(self, request):
        return self._staff_may(request, "freeze_account")

    @staff_action(
        name="freeze",
        verb="freeze",
        permission="freeze",
        description="Freeze selected accounts (at once)",
    )
    def freeze(account, reason, actor):
        services.freeze_account(number=account.number, actor=actor, reason=reason)

    @staff_action(
        name="unfreeze",
        verb="request unfreezing of",
        permission="file_request",
        description="Request unfreezing (needs a supervisor's approval)",
    )
    def unfreeze(account, reason, actor):
        approvals.request_unfreeze(account_number=account.number, actor=actor, reason=reason)

    @staff_action(
        name="unblock_cards",
        verb="request unblocking the cards of",
        permission="file_request",
        description="Request unblocking of blocked cards (needs a supervisor's approval)",
    )
    def unblock_cards(account, reason, actor):
        blocked = list(account.cards.filter(status=Card.Status.BLOCKED))
        if not blocked:
            raise NoBlockedCard(f"Account {account.number} has no blocked card.")
        for card in blocked:
            approvals.request_card_unblock(card_number=card.number, actor=actor, reason=reason)

    @staff_action(
        name="change_daily_limit",
        verb="request a new daily limit for",
        permission="file_request",
        description="Request a daily-limit change (needs a supervisor's approval)",
        extra_fields={"limit": _limit_field},
    )
    def change_daily_limit(account, reason, actor, limit):
        approvals.request_daily_limit(
            account_number=account.number, limit=limit, actor=actor, reason=reason
        )

    # The account page ------------------------------------------------------------------------

    def get_urls(self):
        statement = self.admin_site.admin_view(self.statement_csv)
        return [
            path("<int:pk>/statement.csv", statement, name="accounts_account_statement"),
            *super().get_urls(),
        ]

    def get_object(self, request, object_id, from_field=None):
        # The page's story and Django's form share one read of the account.
        cached = getattr(request, "_account_page", None)
        if cached is None or cached[0] != object_id:
            cached = (object_id, super().get_object(request, object_id, from_field))
            request._account_page = cached
        return cached[1]

    def change_view(self, request, object_id, form_url="", extra_context=None):
        account = self.get_object(request, object_id)
        if account is not None and self.has_view_permission(request, account):
            extra_context = {**(extra_context or {}), **self._story(request, account)}
        return super().change_view(request, object_id, form_url, extra_context)

    def _story(self, request, account: Account) -> dict:
        """Everything the account page shows beside the account's own fields."""
        events = AuditEvent.objects.filter(_events_about(account)).select_related("actor")
        today = timezone.localdate()
        return {
            **self._cash_position(account),
            "status_change": events.filter(action__in=STATUS_EVENTS).first(),
            "cards": list(account.cards.order_by("-issued_at")),
            "pending_holds": list(pending_holds_of(account)[:NEWEST]),
            "holds_url": reverse("admin:transactions_hold_changelist") + f"?q={account.number}",
            "requests": list(
                ApprovalRequest.objects.filter(account=account)
                .select_related("requested_by", "decided_by")
                .order_by("-id")[:NEWEST]
            ),
            "entries": list(
                Entry.objects.filter(account=account)
                .select_related("transaction")
                .order_by("-id")[:NEWEST]
            ),
            "events": list(events.order_by("-id")[:NEWEST]),
            "entries_url": reverse("admin:transactions_entry_changelist")
            + f"?account__id__exact={account.pk}",
            "events_url": reverse("admin:audit_auditevent_changelist") + f"?q={account.number}",
            "requests_url": reverse("admin:backoffice_approvalrequest_changelist")
            + f"?account__id__exact={account.pk}",
            "statement_url": reverse("admin:accounts_account_statement", args=[account.pk]),
            "statement_from": today.replace(day=1).isoformat(),
            "statement_to": today.isoformat(),
        }

    @staticmethod
    def _cash_position(account: Account) -> dict:
        """A cash sub-account's page also shows the currency's whole position."""
        if not account.is_internal:
            return {}
        return {
            "cash_position": cash_positions().get(account.currency),
            "cash_subaccounts": CASH_SUBACCOUNTS,
        }

    def statement_csv(self, request, pk: int):
        """The account's statement for ?from=&to= as a streamed CSV, exactly as the API's."""
        account = get_object_or_404(Account, pk=pk)
        if not self.has_view_permission(request, account):
            raise PermissionDenied
        try:
            first_day = date.fromisoformat(request.GET.get("from", ""))
            last_day = date.fromisoformat(request.GET.get("to", ""))
            validate_period(first_day, last_day)
        except (ValueError, DomainError) as error:
            self.message_user(request, f"No statement: {error}", messages.ERROR)
            return HttpResponseRedirect(reverse("admin:accounts_account_change", args=[pk]))
        statement = build_statement(account=account, first_day=first_day, last_day=last_day)
        response = StreamingHttpResponse(csv_chunks(statement), content_type="text/csv")
        response["Content-Disposition"] = f'attachment; filename="{csv_filename(statement)}"'
        return response


def _events_about(account: Account) -> Q:
    """Events about the account (money events name it in their data) or about its cards."""
    card_ids = Card.objects.filter(account=account).annotate(text_id=Cast("pk", CharField()))
    return events_naming_account(account.number, account.pk) | Q(
        object_type=Card._meta.label_lower, object_id__in=card_ids.values("text_id")
    )


@admin.register(Card)
class CardAdmin(FourEyesMixin, ReadOnlyAdmin):
    """Cards by their masked number only: the full number and the PIN hash never appear."""

    list_display = ("masked_number", "account", "status", "failed_attempts", "expires_on")
    list_select_related = ("account",)
    list_filter = ("status",)
    # Staff may look a card up by its full number (exact match) or by its account.
    search_fields = ("=number", "^account__number")
    fields = ("masked_number", "account", "status", "failed_attempts", "expires_on", "issued_at")
    readonly_fields = fields
    actions = ("unblock",)
    show_full_result_count = False

    @staff_action(
        name="unblock",
        verb="request unblocking of",
        permission="file_request",
        description="Request unblocking (needs a supervisor's approval)",
    )
    def unblock(card, reason, actor):
        approvals.request_card_unblock(card_number=card.number, actor=actor, reason=reason)
