from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin

from audit.admin_mixins import AuditedChangesMixin

from .models import User


@admin.register(User)
class UserAdmin(AuditedChangesMixin, DjangoUserAdmin):
    """Django's user admin (password hashing form, permissions, groups), with every change
    recorded in the audit trail too."""

    list_display = ("username", "email", "first_name", "last_name", "is_staff", "is_active")
    list_filter = ("is_staff", "is_superuser", "is_active", "groups")
