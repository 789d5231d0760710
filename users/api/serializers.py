from django.contrib.auth import get_user_model, password_validation
from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import serializers
from rest_framework.validators import UniqueValidator

User = get_user_model()


class RegisterSerializer(serializers.Serializer):
    username = serializers.RegexField(
        r"^[\w.@+-]+\Z",
        max_length=150,
        validators=[
            UniqueValidator(queryset=User.objects.all(), message="This username is taken.")
        ],
    )
    password = serializers.CharField(write_only=True, max_length=128, trim_whitespace=False)
    email = serializers.EmailField(required=False, default="")
    first_name = serializers.CharField(required=False, default="", max_length=150)
    last_name = serializers.CharField(required=False, default="", max_length=150)

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


class RegisteredUserSerializer(serializers.ModelSerializer):
    class Meta:
        model = User
        fields = ["id", "username", "email"]
        read_only_fields = fields


class MeSerializer(serializers.ModelSerializer):
    """The caller's profile: only email and names can change; anything else sent is ignored."""

    class Meta:
        model = User
        fields = ["id", "username", "email", "first_name", "last_name", "date_joined"]
        read_only_fields = ["id", "username", "date_joined"]


class LogoutSerializer(serializers.Serializer):
    refresh = serializers.CharField()


def _password_field(**kwargs) -> serializers.CharField:
    return serializers.CharField(write_only=True, max_length=128, trim_whitespace=False, **kwargs)


class PasswordChangeSerializer(serializers.Serializer):
    old_password = _password_field()
    new_password = _password_field(help_text="Django's password validators apply (10+ chars).")


class PasswordResetSerializer(serializers.Serializer):
    email = serializers.EmailField()


class PasswordResetAcceptedSerializer(serializers.Serializer):
    detail = serializers.CharField()


class PasswordResetConfirmSerializer(serializers.Serializer):
    uid = serializers.CharField(max_length=64, help_text="From the reset link.")
    token = serializers.CharField(max_length=128, help_text="From the reset link.")
    new_password = _password_field(help_text="Django's password validators apply (10+ chars).")
