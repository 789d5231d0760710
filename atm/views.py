"""The web ATM page: a static shell; everything it does goes through the public API."""

from django.conf import settings
from django.urls import get_script_prefix
from django.views.generic import TemplateView


class ATMPageView(TemplateView):
    template_name = "atm/index.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["api_root"] = f"{get_script_prefix()}api/v1/"
        context["idle_timeout_seconds"] = settings.ATM_IDLE_TIMEOUT_SECONDS
        context["idle_warning_seconds"] = settings.ATM_IDLE_WARNING_SECONDS
        context["session_max_seconds"] = settings.ATM_SESSION_MAX_SECONDS
        return context
