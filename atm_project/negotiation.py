"""Content negotiation that does not guess: `?format=` sent blank is a client's mistake (400),
not a request for the default format."""

from rest_framework.exceptions import ValidationError
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.settings import api_settings


class StrictContentNegotiation(DefaultContentNegotiation):
    def select_renderer(self, request, renderers, format_suffix=None):
        refuse_blank_format(request)
        return super().select_renderer(request, renderers, format_suffix)


def refuse_blank_format(request) -> None:
    if request.query_params.get(api_settings.URL_FORMAT_OVERRIDE) == "":
        raise ValidationError({api_settings.URL_FORMAT_OVERRIDE: ["May not be blank."]})
