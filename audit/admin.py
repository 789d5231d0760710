"""The audit trail in the admin: read-only, filterable, searchable, exportable as CSV."""

import json

from django.contrib import admin
from django.contrib.admin import helpers
from django.http import StreamingHttpResponse
from django.utils import timezone

from atm_project.csv_export import csv_lines

from .admin_mixins import ReadOnlyAdmin
from .models import AuditEvent
from .services import record_event

admin.site.site_header = "ATM Bank staff"
admin.site.site_title = "ATM Bank staff"
admin.site.index_title = "Accounts, ledger and audit trail"

CSV_COLUMNS = (
    "id",
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
_EXPORT_CHUNK = 2000


def _csv_rows(queryset):
    events = queryset.select_related("actor").order_by("id").iterator(chunk_size=_EXPORT_CHUNK)
    # A username tried at sign-in or a user agent is attacker-chosen text: csv_lines makes sure
    # it is never a formula.
    return csv_lines(CSV_COLUMNS, (_csv_row(event) for event in events))


def _csv_row(event) -> list:
    return [
        event.id,
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
    list_display = ("id", "created_at", "actor", "action", "object_type", "object_id", "ip")
    list_select_related = ("actor",)
    list_filter = ("action", "object_type", "created_at")
    date_hierarchy = "created_at"
    search_fields = ("actor__username", "^action", "=object_id", "=request_id")
    search_help_text = "Actor username, action (prefix), object id or request id."
    # The detail page shows exactly what the CSV export holds.
    fields = CSV_COLUMNS
    readonly_fields = fields
    actions = ("export_csv",)
    show_full_result_count = False

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
        stamp = timezone.now().strftime("%Y%m%dT%H%M%SZ")
        response = StreamingHttpResponse(_csv_rows(queryset), content_type="text/csv")
        response["Content-Disposition"] = f'attachment; filename="audit-events-{stamp}.csv"'
        return response
