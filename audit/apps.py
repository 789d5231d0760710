from django.apps import AppConfig


class AuditConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "audit"
    verbose_name = "Audit trail"

    def ready(self):
        from django.contrib.auth.signals import user_logged_in, user_login_failed

        from .signin import on_login_failed, on_session_login

        user_login_failed.connect(on_login_failed, dispatch_uid="audit.login_failed")
        user_logged_in.connect(on_session_login, dispatch_uid="audit.session_login")
