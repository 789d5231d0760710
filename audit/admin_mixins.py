"""What every staff admin page in this project shares."""

from django.contrib import admin

from .services import record_event


class ReadOnlyAdmin(admin.ModelAdmin):
    """History is never added, changed or deleted from the admin, by anyone, superusers included.

    Staff with the view permission still see the change list and a read-only detail page.
    """

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class StaffPermissionsMixin:
    """`has_<action>_permission` checks for the custom permissions of audit.StaffPermission."""

    @staticmethod
    def _staff_may(request, codename: str) -> bool:
        return request.user.has_perm(f"audit.{codename}")


class AuditedChangesMixin:
    """Record every add, change and delete made in the admin in the audit trail as well as in
    Django's own LogEntry, which anyone with the table's permissions could rewrite."""

    def log_addition(self, request, obj, message):
        record_event(action="admin.add", actor=request.user, target=obj, data={"change": message})
        return super().log_addition(request, obj, message)

    def log_change(self, request, obj, message):
        record_event(
            action="admin.change", actor=request.user, target=obj, data={"change": message}
        )
        return super().log_change(request, obj, message)

    def log_deletions(self, request, queryset):
        for obj in queryset:
            record_event(action="admin.delete", actor=request.user, target=obj)
        return super().log_deletions(request, queryset)
