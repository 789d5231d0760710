from django.urls import re_path
from rest_framework_simplejwt.views import TokenObtainPairView, TokenRefreshView

from .views import LogoutView, MeView, RegisterView

urlpatterns = [
    re_path(r"^auth/register/?$", RegisterView.as_view(), name="register"),
    re_path(r"^auth/token/?$", TokenObtainPairView.as_view(), name="token"),
    re_path(r"^auth/token/refresh/?$", TokenRefreshView.as_view(), name="token-refresh"),
    re_path(r"^auth/logout/?$", LogoutView.as_view(), name="logout"),
    re_path(r"^users/me/?$", MeView.as_view(), name="me"),
]
