"""The web pages: the landing page at / and the web ATM, a static shell that only calls the
public API, except to ask the machine's own (simulated) cash dispenser to pay out."""

from django.conf import settings
from django.templatetags.static import static
from django.urls import get_script_prefix, reverse
from django.views.generic import RedirectView, TemplateView
from drf_spectacular.utils import extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from atm_project import demo
from atm_project.permissions import IsATMSession

from . import dispenser


class HomePageView(TemplateView):
    template_name = "atm/home.html"
    extra_context = {
        "demo_card": demo.DEMO_CARD,
        "demo_pin": demo.DEMO_PIN,
        "demo_user": demo.DEMO_USERNAME,
        "demo_password": demo.DEMO_PASSWORD,
    }


class FaviconView(RedirectView):
    """Browsers ask for /favicon.ico on pages that name no icon (the admin, a JSON document)."""

    permanent = False

    def get_redirect_url(self, *args, **kwargs) -> str:
        return static("favicon.svg")


class ATMPageView(TemplateView):
    template_name = "atm/index.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["api_root"] = f"{get_script_prefix()}api/v1/"
        context["dispense_url"] = reverse("atm-dispense")
        context["idle_timeout_seconds"] = settings.ATM_IDLE_TIMEOUT_SECONDS
        context["idle_warning_seconds"] = settings.ATM_IDLE_WARNING_SECONDS
        context["session_max_seconds"] = settings.ATM_SESSION_MAX_SECONDS
        return context


@extend_schema(exclude=True)  # the machine's device, not the bank's API
class DispenseView(APIView):
    """POST /atm/dispense/: the web ATM asks its dispenser to pay out the held cash. Answers
    `{"dispensed": true}`, or `{"dispensed": false, "fault": "dispense_failed"}` when an operator
    armed a fault; the page then captures the hold, or voids it with that reason."""

    permission_classes = [IsATMSession]

    def post(self, request):
        if dispenser.dispense(actor=request.user):
            return Response({"dispensed": True})
        return Response({"dispensed": False, "fault": "dispense_failed"})
