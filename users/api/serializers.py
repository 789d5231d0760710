from django.contrib.auth import get_user_model, password_validation
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import models
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.validators import UniqueValidator
from rest_framework_simplejwt.serializers import TokenObtainPairSerializer, TokenRefreshSerializer

from atm_project.fields import StrictCharField, StrictEmailField, StrictRegexField
from atm_project.serializers import RefuseUnknownFields

from .. import services, sessions

User = get_user_model()


class NormalizesUsername:
    """A username as stored: NFKC-normalised (fullwidth "demo" is "demo") before any rule is
    checked, so registration, its uniqueness check and sign-in all see the same name."""

    def to_internal_value(self, data) -> str:
        return User.normalize_username(super().to_internal_value(data))


class NormalizedUsernameField(NormalizesUsername, StrictCharField):
    pass


class RegisteredUsernameField(NormalizesUsername, StrictRegexField):
    pass


class RegisterSerializer(RefuseUnknownFields, serializers.Serializer):
    # Length, characters and uniqueness are checked on the normalised name (NFKC can lengthen it).
    username = RegisteredUsernameField(
        r"^[\w.@+-]+\Z",
        max_length=150,
        validators=[UniqueValidator(queryset=User.objects.all(), message=services.USERNAME_TAKEN)],
    )
    password = StrictCharField(write_only=True, max_length=128, trim_whitespace=False)
    email = StrictEmailField(required=False, default="")
    first_name = StrictCharField(required=False, default="", max_length=150)
    last_name = StrictCharField(required=False, default="", max_length=150)

    def validate(self, attrs):
        candidate = User(
            username=attrs["username"],
            email=attrs["email"],
            first_name=attrs["first_name"],
            last_name=attrs["last_name"],
        )
        try:
            password_validation.validate_password(attrs["password"], user=candidate)
        except DjangoValidationError as error:
            raise serializers.ValidationError({"password": list(error.messages)}) from error
        return attrs


@extend_schema_field(
    {
        "anyOf": [{"type": "string", "format": "email"}, {"type": "string", "maxLength": 0}],
        "description": 'An email address, or "" when the user has none.',
    }
)
class BlankableEmailField(StrictEmailField):
    """A user's email: optional, so stored and shown as "" when absent (a bare `format: email`
    in the schema would call that empty string invalid)."""


class RegisteredUserSerializer(serializers.ModelSerializer):
    email = BlankableEmailField(read_only=True)

    class Meta:
        model = User
        fields = ["id", "username", "email"]
        read_only_fields = fields


class MeSerializer(RefuseUnknownFields, serializers.ModelSerializer):
    """The caller's profile: only email and names can change; anything else sent is ignored."""

    serializer_field_mapping = {
        **serializers.ModelSerializer.serializer_field_mapping,
        models.CharField: StrictCharField,
        models.EmailField: BlankableEmailField,
    }

    current_password = StrictCharField(
        write_only=True,
        required=False,
        trim_whitespace=False,
        max_length=128,
        help_text="Needed to change `email` (400 without it, 401 when wrong).",
    )

    class Meta:
        model = User
        fields = [
            "id",
            "username",
            "email",
            "first_name",
            "last_name",
            "date_joined",
            "current_password",
        ]
        read_only_fields = ["id", "username", "date_joined"]

    def update(self, instance, validated_data):
        current_password = validated_data.pop("current_password", None)
        return services.update_profile(
            user=instance, changes=validated_data, current_password=current_password
        )


class LogoutSerializer(RefuseUnknownFields, serializers.Serializer):
    refresh = StrictCharField()


class TokenSerializer(RefuseUnknownFields, TokenObtainPairSerializer):
    """simplejwt's sign-in, taking only JSON strings as credentials; each starts a session."""

    @classmethod
    def get_token(cls, user):
        return sessions.start_session(user)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields[self.username_field] = NormalizedUsernameField(write_only=True)
        self.fields["password"] = StrictCharField(
            write_only=True, trim_whitespace=False, style={"input_type": "password"}
        )


class StrictTokenRefreshSerializer(RefuseUnknownFields, TokenRefreshSerializer):
    """Rotation that cannot fork: see users/sessions.py."""

    refresh = StrictCharField()

    def validate(self, attrs):
        return sessions.rotate(attrs["refresh"])


def _password_field(**kwargs) -> serializers.CharField:
    return StrictCharField(write_only=True, max_length=128, trim_whitespace=False, **kwargs)


NEW_PASSWORD_HELP = "At least 10 characters; not too common, not all digits, not like the username."  # noqa: S105 - help text


class PasswordChangeSerializer(RefuseUnknownFields, serializers.Serializer):
    old_password = _password_field()
    new_password = _password_field(
        help_text="At least 10 characters; not too common, not all digits, not like the username."
    )


class PasswordResetSerializer(RefuseUnknownFields, serializers.Serializer):
    email = StrictEmailField()


class PasswordResetAcceptedSerializer(serializers.Serializer):
    detail = serializers.CharField()


class PasswordResetConfirmSerializer(RefuseUnknownFields, serializers.Serializer):
    uid = StrictCharField(max_length=64, help_text="From the reset link.")
    token = StrictCharField(max_length=128, help_text="From the reset link.")
    new_password = _password_field(
        help_text="At least 10 characters; not too common, not all digits, not like the username."
    )
