from django.contrib.auth.models import AbstractUser


class User(AbstractUser):
    """The bank's customer or staff member. Custom from the first migration so it can grow."""

    class Meta(AbstractUser.Meta):
        swappable = "AUTH_USER_MODEL"
