from django.contrib import admin
from django.contrib.admin.utils import unquote
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.db import transaction

from audit.admin_mixins import AuditedChangesMixin
from audit.services import record_event

from .models import User
from .services import revoke_all_refresh_tokens


@admin.register(User)
class UserAdmin(AuditedChangesMixin, DjangoUserAdmin):
    """Django's user admin (password hashing form, permissions, groups), with every change
    recorded in the audit trail too."""

    list_display = ("username", "email", "first_name", "last_name", "is_staff", "is_active")
    list_filter = ("is_staff", "is_superuser", "is_active", "groups")

    def user_change_password(self, request, id, form_url=""):
        # A password set by staff (a customer locked out, an account taken over) ends every
        # session the old password opened, in the same transaction as the new password.
        with transaction.atomic():
            response = super().user_change_password(request, id, form_url)
            if request.method == "POST" and response.status_code == 302:
                user = self.get_object(request, unquote(id))
                revoked = revoke_all_refresh_tokens(user=user)
                record_event(
                    action="auth.password_set_by_staff",
                    actor=request.user,
                    target=user,
                    data={"username": user.username, "sessions_ended": revoked},
                )
        return response
