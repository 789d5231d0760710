import uuid
from datetime import timedelta

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils import timezone


class User(AbstractUser):
    """The bank's customer or staff member. Custom from the first migration so it can grow."""

    class Meta(AbstractUser.Meta):
        swappable = "AUTH_USER_MODEL"


class SignInSession(models.Model):
    """One sign-in and the chain of refresh tokens rotated from it (users/sessions.py).

    Every refresh locks this row, so a refresh and a sign-out of the same session never pass each
    other, and the chain ends `SESSION_MAX_AGE` after `started_at` however often it was refreshed.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="sign_in_sessions")
    started_at = models.DateTimeField(default=timezone.now)
    ended_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"session {self.id} of user {self.user_id}"

    @property
    def expires_at(self):
        return self.started_at + timedelta(seconds=settings.SESSION_MAX_AGE)
