"""Staff view of the ledger: entirely read-only; a mistake is corrected by the reverse action."""

import uuid

from django.contrib import admin
from django.db.models import Q

from audit.admin_mixins import ReadOnlyAdmin, StaffPermissionsMixin
from audit.staff_actions import staff_action

from . import services
from .models import Entry, Transaction


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
        term = search_term.strip()
        try:
            transaction_id = uuid.UUID(term)
        except ValueError:
            return super().get_search_results(request, queryset, search_term)
        # Django's own search would hand any text to the UUID field and fail on non-UUIDs.
        return queryset.filter(Q(pk=transaction_id) | Q(reverses_id=transaction_id)), False

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
