"""What every staff admin page in this project shares."""

from django import forms
from django.contrib import admin
from django.db.models import Model, QuerySet

from .services import record_event


class NeverEdited:
    """Visible to those with the view permission; never added, changed or deleted here, by
    anyone, superusers included. For model admins and inlines alike."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class ReadOnlyAdmin(NeverEdited, admin.ModelAdmin):
    """History is never added, changed or deleted from the admin, by anyone, superusers included.

    Staff with the view permission still see the change list and a read-only detail page.
    """


class StaffPermissionsMixin:
    """`has_<action>_permission` checks for the custom permissions of audit.StaffPermission."""

    @staticmethod
    def _staff_may(request, codename: str) -> bool:
        return request.user.has_perm(f"audit.{codename}")


class AuditedChangesMixin:
    """Record every add, change and delete made in the admin in the audit trail as well as in
    Django's own LogEntry, which anyone with the table's permissions could rewrite. The event
    names the staff member and what changed: each changed field with its old and new value
    (many-to-many fields, such as a group's permissions, as the lists of names), never a
    password."""

    def construct_change_message(self, request, form, formsets, add=False):
        # Called just before log_addition/log_change, with the form that made the change.
        request._audited_fields = _changed_fields(form)
        return super().construct_change_message(request, form, formsets, add)

    def log_addition(self, request, obj, message):
        record_event(
            action="admin.add", actor=request.user, target=obj, data=_change_data(request, message)
        )
        return super().log_addition(request, obj, message)

    def log_change(self, request, obj, message):
        record_event(
            action="admin.change",
            actor=request.user,
            target=obj,
            data=_change_data(request, message),
        )
        return super().log_change(request, obj, message)

    def log_deletions(self, request, queryset):
        for obj in queryset:
            record_event(
                action="admin.delete", actor=request.user, target=obj, data={"was": str(obj)}
            )
        return super().log_deletions(request, queryset)


def _change_data(request, message) -> dict:
    return {"change": message, "fields": getattr(request, "_audited_fields", {})}


def _changed_fields(form) -> dict:
    """{field: {"from": old, "to": new}} for each changed field of a ModelForm; secrets (any
    password input) only as "[changed]"."""
    changed = {}
    for name in form.changed_data:
        field = form.fields.get(name)  # the password form reports "password", not a field
        if field is None or isinstance(field.widget, forms.PasswordInput) or "password" in name:
            changed[name] = "[changed]"
            continue
        changed[name] = {
            "from": _describe(field, form.initial.get(name)),
            "to": _describe(field, form.cleaned_data.get(name)),
        }
    return changed


def _describe(field, value):
    """A value as staff read it: objects by name, many-to-many values as sorted name lists."""
    if isinstance(value, Model):
        return str(value)
    if isinstance(value, QuerySet | list | tuple | set):
        return sorted(str(_as_object(field, item)) for item in value)
    if isinstance(field, forms.ModelChoiceField) and value not in (None, ""):
        return str(_as_object(field, value))
    return value if value is None or isinstance(value, bool | int | str) else str(value)


def _as_object(field, value):
    """Initial values of relation fields are primary keys; show the object they name."""
    if isinstance(value, Model) or not isinstance(field, forms.ModelChoiceField):
        return value
    return field.queryset.filter(pk=value).first() or value
