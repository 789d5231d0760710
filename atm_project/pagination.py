"""Cursor pagination, newest first, whose cost does not grow with the history's size."""

from rest_framework.exceptions import ValidationError
from rest_framework.pagination import CursorPagination

MAX_PAGE_SIZE = 100


class NewestFirstCursorPagination(CursorPagination):
    page_size = 20
    page_size_query_param = "limit"
    max_page_size = MAX_PAGE_SIZE
    ordering = "-created_at"

    def get_page_size(self, request):
        raw = request.query_params.get(self.page_size_query_param)
        if raw is None:
            return self.page_size
        try:
            size = int(raw)
        except ValueError:
            size = 0
        if size < 1:
            raise ValidationError({"limit": ["Must be an integer from 1 to 100."]})
        # Larger pages are capped rather than refused, like every DRF list.
        return min(size, self.max_page_size)

    def get_schema_operation_parameters(self, view):
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.page_size_query_param:
                parameter["schema"] = {"type": "integer", "minimum": 1, "default": self.page_size}
        return parameters


class IdCursorPagination(NewestFirstCursorPagination):
    # Auto-increment ids grow with time, so "-id" is a unique, index-backed newest-first order.
    ordering = "-id"
