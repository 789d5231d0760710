"""Input serializers refuse what they do not define: a client that sends a field the operation
does not take (a `currency` on a deposit, an `is_staff` on a profile) learns at once that it was
not applied, instead of the field being silently dropped."""

from collections.abc import Mapping

from rest_framework import serializers

UNKNOWN_FIELD = "Unknown field: this operation does not take it."


class RefuseUnknownFields:
    """Mixed into every serializer that reads a request body: a key that is not one of its
    writable fields is a 400 `validation_error` naming each such key."""

    def to_internal_value(self, data):
        if isinstance(data, Mapping):
            writable = {name for name, field in self.fields.items() if not field.read_only}
            unknown = sorted(set(data) - writable)
            if unknown:
                raise serializers.ValidationError({name: [UNKNOWN_FIELD] for name in unknown})
        return super().to_internal_value(data)


class NoBody(RefuseUnknownFields, serializers.Serializer):
    """The body of an operation that takes none: empty, or an empty object."""


def refuse_any_body_fields(request) -> None:
    """For views whose operation takes no body: any field sent is unknown (400)."""
    NoBody(data=request.data if isinstance(request.data, Mapping) else {}).is_valid(
        raise_exception=True
    )
