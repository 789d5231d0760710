from django.urls import re_path
from rest_framework_simplejwt.views import TokenRefreshView

from .views import (
    LogoutView,
    MeView,
    PasswordChangeView,
    PasswordResetConfirmView,
    PasswordResetView,
    RegisterView,
    TokenView,
)

urlpatterns = [
    re_path(r"^auth/register/?$", RegisterView.as_view(), name="register"),
    re_path(r"^auth/token/?$", TokenView.as_view(), name="token"),
    re_path(r"^auth/token/refresh/?$", TokenRefreshView.as_view(), name="token-refresh"),
    re_path(r"^auth/logout/?$", LogoutView.as_view(), name="logout"),
    re_path(r"^auth/password/change/?$", PasswordChangeView.as_view(), name="password-change"),
    re_path(r"^auth/password/reset/?$", PasswordResetView.as_view(), name="password-reset"),
    re_path(
        r"^auth/password/reset/confirm/?$",
        PasswordResetConfirmView.as_view(),
        name="password-reset-confirm",
    ),
    re_path(r"^users/me/?$", MeView.as_view(), name="me"),
]
