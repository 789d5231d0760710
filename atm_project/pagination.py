"""Cursor pagination, newest first, whose cost does not grow with the history's size."""

from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.pagination import CursorPagination

MAX_PAGE_SIZE = 100


class NewestFirstCursorPagination(CursorPagination):
    page_size = 20
    page_size_query_param = "limit"
    max_page_size = MAX_PAGE_SIZE
    ordering = "-created_at"

    def paginate_queryset(self, queryset, request, view=None):
        self._model = queryset.model
        return super().paginate_queryset(queryset, request, view)

    def decode_cursor(self, request):
        """DRF trusts the position inside a cursor; a hand-made one must not reach the query."""
        cursor = super().decode_cursor(request)
        if cursor is not None and cursor.position is not None:
            field = self._model._meta.get_field(self.ordering[0].lstrip("-"))
            try:
                # The validators check the column's range: PostgreSQL refuses a too-large bigint.
                field.run_validators(field.to_python(cursor.position))
            except (DjangoValidationError, ValueError, OverflowError) as error:
                raise NotFound(self.invalid_cursor_message) from error
        return cursor

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
