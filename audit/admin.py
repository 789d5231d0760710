"""The audit trail in the admin: read-only, filterable, searchable, exportable as CSV."""

import json

from django.apps import apps
from django.contrib import admin
from django.contrib.admin import helpers
from django.urls import NoReverseMatch, reverse
from django.utils.html import format_html

from atm_project.csv_export import EXPORT_CHUNK, csv_download

from .admin_mixins import ReadOnlyAdmin
from .models import AuditEvent
from .search import events_naming
from .services import record_event

admin.site.site_header = "ATM Bank staff"
admin.site.site_title = "ATM Bank staff"
admin.site.index_title = "Accounts, ledger and audit trail"

CSV_COLUMNS = (
    "id",
    "chain",
    "seq",
    "created_at",
    "actor",
    "action",
    "object_type",
    "object_id",
    "ip",
    "user_agent",
    "request_id",
    "data",
    "prev_hash",
    "hash",
)


def _csv_row(event) -> list:
    return [
        event.id,
        event.chain,
        event.seq,
        event.created_at.isoformat(),
        event.actor.username if event.actor else "",
        event.action,
        event.object_type,
        event.object_id,
        event.ip or "",
        event.user_agent,
        event.request_id,
        json.dumps(event.data, sort_keys=True, ensure_ascii=False),
        event.prev_hash,
        event.hash,
    ]


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    # An event's place in the trail is its chain and seq; the id only says what was inserted
    # first.
    list_display = ("id", "chain", "seq", "created_at", "actor", "action", "subject", "ip")
    list_select_related = ("actor",)
    list_filter = ("action", "object_type", "created_at")
    date_hierarchy = "created_at"
    search_fields = ("^action", "=object_id", "=request_id", "=chain")
    search_help_text = (
        "Account number, card's last four digits, transaction id (or its start), username, "
        "action (prefix), object id, request id or chain (bank, account:<account id>)."
    )
    # The detail page shows exactly what the CSV export holds.
    fields = CSV_COLUMNS
    readonly_fields = fields
    actions = ("export_csv",)
    show_full_result_count = False

    def get_search_results(self, request, queryset, search_term):
        # Django's own fields (action prefix, ids), or any event naming what the term refers to.
        own, duplicates = super().get_search_results(request, queryset, search_term)
        return own | queryset.filter(events_naming(search_term)), duplicates

    @admin.display(description="object")
    def subject(self, event):
        """The object the event names, linked to its admin page when it has one."""
        if not event.object_type:
            return ""
        # An admin action over several objects names them all ("4,7,9"): no single page.
        label = f"{event.object_type.rsplit('.', 1)[-1]} {event.object_id}".strip()
        url = "," not in event.object_id and _admin_url(event.object_type, event.object_id)
        return format_html('<a href="{}">{}</a>', url, label) if url else label

    @admin.action(permissions=["view"], description="Export selected events as CSV")
    def export_csv(self, request, queryset):
        # Exports are themselves audited: who took a copy of which part of the trail.
        record_event(
            action="admin.export_audit_events",
            actor=request.user,
            object_type=AuditEvent._meta.label_lower,
            data={
                "filters": request.GET.urlencode()[:500],
                "all_matching": request.POST.get("select_across") == "1",
                "selected": len(request.POST.getlist(helpers.ACTION_CHECKBOX_NAME)),
            },
        )
        events = queryset.select_related("actor").order_by("id").iterator(chunk_size=EXPORT_CHUNK)
        # A username tried at sign-in or a user agent is attacker-chosen text: csv_download
        # makes sure it is never a formula.
        return csv_download(
            name="audit-events", header=CSV_COLUMNS, rows=(_csv_row(event) for event in events)
        )


def _admin_url(object_type: str, object_id: str) -> str:
    app_label, _, model_name = object_type.partition(".")
    try:
        apps.get_model(app_label, model_name)
        return reverse(f"admin:{app_label}_{model_name}_change", args=[object_id])
    except (LookupError, ValueError, NoReverseMatch):
        return ""  # not a model (a rate limit, a sign-in), or one the admin does not show
