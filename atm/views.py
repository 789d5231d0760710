"""The web ATM page: a static shell; everything it does goes through the public API, except
asking the machine's own (simulated) cash dispenser to pay out."""

from django.conf import settings
from django.urls import get_script_prefix
from django.views.generic import TemplateView
from drf_spectacular.utils import extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from atm_project.permissions import IsATMSession

from . import dispenser


class ATMPageView(TemplateView):
    template_name = "atm/index.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["api_root"] = f"{get_script_prefix()}api/v1/"
        context["idle_timeout_seconds"] = settings.ATM_IDLE_TIMEOUT_SECONDS
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
