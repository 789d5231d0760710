"""The staff admin site: two-factor sign-in, sign-in limits, and every change audited.

`admin.site` is an instance of `StaffAdminSite` (backoffice.apps.StaffAdminConfig), so every
ModelAdmin registered by any app, Django's own (groups) and third parties' (token blacklist,
TOTP devices) included, gets the same treatment without having to remember it.
"""

from django.conf import settings
from django.contrib.admin import AdminSite, ModelAdmin
from django.contrib.admin.forms import AdminAuthenticationForm
from django.db.models.base import ModelBase
from django.template.response import TemplateResponse
from django_otp.admin import OTPAdminAuthenticationForm, OTPAdminSite
from django_otp.plugins.otp_totp.models import TOTPDevice

from audit.admin_mixins import AuditedChangesMixin, NeverEdited

from . import signin_limits

# History and credentials that nobody edits by hand, superusers included: editing or deleting
# a blacklisted token would revive a signed-out session; the ledger and the audit trail are
# append-only.
NEVER_EDITED = {
    "token_blacklist.outstandingtoken",
    "token_blacklist.blacklistedtoken",
    "transactions.transaction",
    "transactions.entry",
    "audit.auditevent",
    "backoffice.approvalrequest",
}


def staff_admin_class(model, admin_class):
    """The ModelAdmin actually registered: `admin_class` with every change audited, and made
    read-only for the models in NEVER_EDITED."""
    mixins = []
    if model._meta.label_lower in NEVER_EDITED and not issubclass(admin_class, NeverEdited):
        mixins.append(NeverEdited)
    if not issubclass(admin_class, AuditedChangesMixin):
        mixins.append(AuditedChangesMixin)
    if not mixins:
        return admin_class
    return type(f"Staff{admin_class.__name__}", (*mixins, admin_class), {})


class StaffSignInForm(OTPAdminAuthenticationForm):
    """Username, password and the code from the authenticator app, on one page.

    Each staff member has exactly one authenticator (users.totp), so when the form names no
    device the code is checked against that one, never against anyone else's.
    """

    def _chosen_device(self, user):
        chosen = super()._chosen_device(user)
        return chosen or TOTPDevice.objects.filter(user=user, confirmed=True).first()


class StaffAdminSite(OTPAdminSite):
    def __init__(self, name="admin"):
        # OTPAdminSite names itself "otpadmin"; URLs and templates expect "admin".
        super().__init__(name)

    @property
    def login_form(self):
        return StaffSignInForm if settings.STAFF_2FA else AdminAuthenticationForm

    @property
    def login_template(self):
        return OTPAdminSite.login_template if settings.STAFF_2FA else None

    def has_permission(self, request):
        if not settings.STAFF_2FA:
            return AdminSite.has_permission(self, request)
        return super().has_permission(request)

    def register(self, model_or_iterable, admin_class=None, **options):
        single = isinstance(model_or_iterable, ModelBase)
        for model in [model_or_iterable] if single else model_or_iterable:
            super().register(model, staff_admin_class(model, admin_class or ModelAdmin), **options)

    def login(self, request, extra_context=None):
        if request.method != "POST":
            return super().login(request, extra_context)
        attempt = signin_limits.SignInAttempt.from_request(request)
        retry_after = signin_limits.seconds_locked(attempt)
        if retry_after:
            return self._locked_out(request, retry_after)
        response = super().login(request, extra_context)
        form = getattr(response, "context_data", {}).get("form") if response else None
        if form is not None and form.errors:
            # The form came back with errors: a wrong password, or a missing or wrong code.
            user = form.get_user()
            factor = "otp" if user is not None and user.is_staff else "password"
            signin_limits.record_failure(request, attempt, factor=factor)
        return response

    def _locked_out(self, request, retry_after: int):
        response = TemplateResponse(
            request,
            "backoffice/signin_locked.html",
            {
                **self.each_context(request),
                "title": "Sign-in refused",
                "minutes": -(-retry_after // 60),
            },
            status=429,
        )
        response["Retry-After"] = str(retry_after)
        return response
