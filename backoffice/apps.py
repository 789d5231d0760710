from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps


class BackofficeConfig(AppConfig):
    """Staff work: the admin site, four-eyes requests and the staff commands.

    It sits on the channel side (it may import users, accounts, transactions and audit; none of
    them imports it), because approving a request executes their services.
    """

    default = True
    default_auto_field = "django.db.models.BigAutoField"
    name = "backoffice"
    verbose_name = "Back office"


class StaffAdminConfig(admin_apps.AdminConfig):
    """django.contrib.admin, with `admin.site` being the staff site of backoffice.sites."""

    default = False
    default_site = "backoffice.sites.StaffAdminSite"
