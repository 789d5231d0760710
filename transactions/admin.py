"""Staff view of the ledger: entirely read-only; a mistake is corrected by the reverse action."""

import uuid

from django.contrib import admin
from django.db.models import Q
from django.utils import timezone

from audit.admin_mixins import ReadOnlyAdmin, StaffPermissionsMixin
from audit.staff_actions import staff_action

from . import services
from .models import Entry, Hold, Transaction
from .selectors import status_as_of


def _as_uuid(term: str) -> uuid.UUID | None:
    """A search term that is a UUID (Django's own search would hand any text to a UUID field and
    fail on the others)."""
    try:
        return uuid.UUID(term.strip())
    except ValueError:
        return None


class EntryInline(admin.TabularInline):
    model = Entry
    fields = ("account", "amount", "balance_after", "kind", "counterparty_number", "created_at")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("account")

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Transaction)
class TransactionAdmin(StaffPermissionsMixin, ReadOnlyAdmin):
    list_display = (
        "id",
        "kind",
        "status",
        "amount",
        "currency",
        "account_number",
        "counterparty_number",
        "initiated_by",
        "created_at",
    )
    list_select_related = ("account", "counterparty", "initiated_by")
    list_filter = ("kind", "status", "created_at")
    date_hierarchy = "created_at"
    # The id is matched in get_search_results (a UUID); these are exact, indexed lookups.
    search_fields = ("=account__number", "=counterparty__number", "=idempotency_keys__key")
    search_help_text = "Transaction id, account number or Idempotency-Key (exact)."
    fields = (
        "id",
        "kind",
        "status",
        "amount",
        "currency",
        "description",
        "account",
        "counterparty",
        "reverses",
        "hold",
        "initiated_by",
        "created_at",
    )
    readonly_fields = fields
    inlines = (EntryInline,)
    actions = ("reverse",)
    show_full_result_count = False

    @admin.display(description="account", ordering="account__number")
    def account_number(self, obj):
        return obj.account.number

    @admin.display(description="counterparty", ordering="counterparty__number")
    def counterparty_number(self, obj):
        return obj.counterparty.number if obj.counterparty else ""

    def get_search_results(self, request, queryset, search_term):
        transaction_id = _as_uuid(search_term)
        if transaction_id is None:
            return super().get_search_results(request, queryset, search_term)
        return queryset.filter(
            Q(pk=transaction_id) | Q(reverses_id=transaction_id) | Q(hold_id=transaction_id)
        ), False

    def has_reverse_permission(self, request):
        return self._staff_may(request, "reverse_transaction")

    @staff_action(
        name="reverse",
        verb="reverse",
        permission="reverse",
        description="Reverse selected transactions",
        confirmation="I confirm: post the opposite of these transactions.",
    )
    def reverse(posted, reason, actor):
        services.reverse(transaction_id=posted.pk, actor=actor, reason=reason)


@admin.register(Entry)
class EntryAdmin(ReadOnlyAdmin):
    list_display = (
        "id",
        "transaction_id",
        "account",
        "kind",
        "amount",
        "balance_after",
        "counterparty_number",
        "created_at",
    )
    list_select_related = ("account",)
    list_filter = ("kind", "created_at")
    search_fields = ("=account__number",)
    fields = (
        "transaction",
        "account",
        "kind",
        "amount",
        "balance_after",
        "counterparty_number",
        "created_at",
    )
    readonly_fields = fields
    show_full_result_count = False


class HoldStatusNowFilter(admin.SimpleListFilter):
    """Status as of now: a pending hold past `expires_at` has expired, recorded or not."""

    title = "status (now)"
    parameter_name = "status_now"

    def lookups(self, request, model_admin):
        return Hold.Status.choices

    def queryset(self, request, queryset):
        if self.value() in Hold.Status.values:
            return queryset.filter(status_as_of(self.value(), timezone.now()))
        return queryset


@admin.register(Hold)
class HoldAdmin(ReadOnlyAdmin):
    """Holds are changed only by the services (capture, void, expiry): read-only here."""

    list_display = (
        "id",
        "account_number",
        "amount",
        "captured_amount",
        "currency",
        "status_now",
        "void_reason",
        "created_at",
        "expires_at",
    )
    list_select_related = ("account",)
    list_filter = (HoldStatusNowFilter, "void_reason", "currency", "created_at", "expires_at")
    date_hierarchy = "created_at"
    search_fields = ("=account__number",)
    search_help_text = "Hold id, its withdrawal's id, or account number (exact)."
    fields = (
        "id",
        "account",
        "amount",
        "captured_amount",
        "currency",
        "status",
        "void_reason",
        "description",
        "initiated_by",
        "created_at",
        "expires_at",
        "closed_at",
        "withdrawal",
    )
    readonly_fields = fields
    show_full_result_count = False

    @admin.display(description="account", ordering="account__number")
    def account_number(self, obj):
        return obj.account.number

    @admin.display(description="status")
    def status_now(self, obj):
        return obj.status_at(timezone.now())

    def get_search_results(self, request, queryset, search_term):
        hold_id = _as_uuid(search_term)
        if hold_id is None:
            return super().get_search_results(request, queryset, search_term)
        return queryset.filter(Q(pk=hold_id) | Q(withdrawal__id=hold_id)), False
