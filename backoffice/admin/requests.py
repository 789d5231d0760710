"""Four-eyes requests in the admin: who asked, when and why; supervisors approve or reject."""

from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html

from audit.admin_mixins import ReadOnlyAdmin
from audit.staff_actions import staff_action

from .. import approvals
from ..models import ApprovalRequest


@admin.register(ApprovalRequest)
class ApprovalRequestAdmin(ReadOnlyAdmin):
    list_display = (
        "id",
        "kind",
        "status",
        "account_link",
        "target",
        "reason",
        "requested_by",
        "requested_at",
        "decided_by",
        "outcome",
    )
    list_display_links = ("id", "kind")
    list_select_related = ("account", "requested_by", "decided_by")
    list_filter = ("status", "kind", "requested_at")
    search_fields = ("=account__number", "requested_by__username", "decided_by__username")
    search_help_text = "Account number or the username of who asked or decided."
    fields = (
        "kind",
        "status",
        "account_link",
        "target",
        "new_daily_limit",
        "reason",
        "requested_by",
        "requested_at",
        "decided_by",
        "decided_at",
        "outcome",
    )
    readonly_fields = fields
    actions = ("approve", "reject")
    show_full_result_count = False

    @admin.display(description="account", ordering="account__number")
    def account_link(self, request_):
        url = reverse("admin:accounts_account_change", args=[request_.account_id])
        return format_html('<a href="{}">{}</a>', url, request_.account.number)

    def has_decide_permission(self, request):
        return approvals.may_decide(request.user)

    @staff_action(
        name="approve",
        verb="approve and execute",
        permission="decide",
        description="Approve and execute selected requests (supervisors)",
        confirmation="I checked these requests: execute them now.",
    )
    def approve(request_, note, actor):
        approvals.approve(request_id=request_.pk, actor=actor)

    @staff_action(
        name="reject",
        verb="reject",
        permission="decide",
        description="Reject selected requests (supervisors)",
    )
    def reject(request_, reason, actor):
        approvals.reject(request_id=request_.pk, actor=actor, reason=reason)
