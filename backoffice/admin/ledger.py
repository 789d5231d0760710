"""Staff view of the ledger: entirely read-only; a mistake is corrected by a reversal, which is
a four-eyes request. Transactions and entries export to CSV, streamed."""

import re
import uuid

from django.contrib import admin
from django.db.models import Q
from django.utils import timezone

from atm_project.csv_export import EXPORT_CHUNK, csv_download
from audit.admin_mixins import NeverEdited, ReadOnlyAdmin
from audit.services import record_event
from audit.staff_actions import staff_action
from transactions.models import Entry, Hold, Transaction
from transactions.selectors import status_as_of

from .. import approvals
from .accounts import FourEyesMixin

# A transaction id or a piece of one (at least 6 hex digits, dashes allowed).
_PARTIAL_ID = re.compile(r"^[0-9a-f-]{6,36}$")
TRANSACTION_COLUMNS = (
    "id",
    "created_at",
    "kind",
    "status",
    "amount",
    "currency",
    "account",
    "counterparty",
    "description",
    "reverses",
    "initiated_by",
)
ENTRY_COLUMNS = (
    "id",
    "created_at",
    "transaction_id",
    "account",
    "kind",
    "amount",
    "balance_after",
    "counterparty",
)


class CSVExportMixin:
    """An "Export as CSV" action for anyone who may view the rows (Auditors included)."""

    export_name: str

    @admin.action(permissions=["view"], description="Export selected rows as CSV")
    def export_csv(self, request, queryset):
        record_event(
            action="admin.export_csv",
            actor=request.user,
            object_type=self.model._meta.label_lower,
            data={"filters": request.GET.urlencode()[:500]},
        )
        rows = (
            self.csv_row(obj)
            for obj in queryset.select_related(*self.list_select_related)
            .order_by("pk")
            .iterator(chunk_size=EXPORT_CHUNK)
        )
        return csv_download(name=self.export_name, header=self.csv_header, rows=rows)


class EntryInline(NeverEdited, admin.TabularInline):
    model = Entry
    fields = ("account", "amount", "balance_after", "kind", "counterparty_number", "created_at")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("account")


@admin.register(Transaction)
class TransactionAdmin(CSVExportMixin, FourEyesMixin, ReadOnlyAdmin):
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
    # The id is matched in get_search_results (by its start); these are exact, indexed lookups.
    search_fields = ("=account__number", "=counterparty__number", "=idempotency_keys__key")
    search_help_text = (
        "Transaction id or its first digits, account number or Idempotency-Key (exact)."
    )
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
    actions = ("reverse", "export_csv")
    show_full_result_count = False
    export_name = "transactions"
    csv_header = TRANSACTION_COLUMNS

    @staticmethod
    def csv_row(posted):
        return (
            posted.pk,
            posted.created_at.isoformat(),
            posted.kind,
            posted.status,
            posted.amount,
            posted.currency,
            posted.account.number,
            posted.counterparty.number if posted.counterparty else "",
            posted.description,
            posted.reverses_id or "",
            posted.initiated_by.username if posted.initiated_by else "",
        )

    @admin.display(description="account", ordering="account__number")
    def account_number(self, obj):
        return obj.account.number

    @admin.display(description="counterparty", ordering="counterparty__number")
    def counterparty_number(self, obj):
        return obj.counterparty.number if obj.counterparty else ""

    def get_search_results(self, request, queryset, search_term):
        term = search_term.strip().lower()
        if not _PARTIAL_ID.match(term) or term.isdigit() or len(term.replace("-", "")) > 32:
            return super().get_search_results(request, queryset, search_term)
        # Staff read ids off statements and screens, often only their start. The id is a UUID
        # column: a prefix is a range of UUIDs (index-friendly on every database).
        return queryset.filter(_id_prefix(term, "pk") | _id_prefix(term, "reverses_id")), False

    @staff_action(
        name="reverse",
        verb="request reversal of",
        permission="file_request",
        description="Request reversal (needs a supervisor's approval)",
        confirmation="I confirm: a supervisor should post the opposite of these transactions.",
    )
    def reverse(posted, reason, actor):
        approvals.request_reversal(transaction_id=posted.pk, actor=actor, reason=reason)


@admin.register(Entry)
class EntryAdmin(CSVExportMixin, ReadOnlyAdmin):
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
    actions = ("export_csv",)
    export_name = "entries"
    csv_header = ENTRY_COLUMNS
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

    @staticmethod
    def csv_row(entry):
        return (
            entry.pk,
            entry.created_at.isoformat(),
            entry.transaction_id,
            entry.account.number,
            entry.kind,
            entry.amount,
            entry.balance_after,
            entry.counterparty_number,
        )


def _id_prefix(prefix: str, field: str) -> Q:
    """UUIDs starting with the hex digits of `prefix`: between the prefix padded with 0s and
    the prefix padded with fs."""
    digits = prefix.replace("-", "")
    low = uuid.UUID(digits.ljust(32, "0"))
    high = uuid.UUID(digits.ljust(32, "f"))
    return Q(**{f"{field}__gte": low, f"{field}__lte": high})


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
    search_help_text = "Hold id or its withdrawal's id (or their start), or account number."
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
        term = search_term.strip().lower()
        if not _PARTIAL_ID.match(term) or term.isdigit() or len(term.replace("-", "")) > 32:
            return super().get_search_results(request, queryset, search_term)
        return queryset.filter(_id_prefix(term, "pk") | _id_prefix(term, "withdrawal__id")), False
