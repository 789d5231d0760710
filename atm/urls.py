from django.urls import re_path

from .views import ATMPageView

urlpatterns = [
    # With and without the trailing slash, like every other route.
    re_path(r"^atm/?$", ATMPageView.as_view(), name="atm"),
]
