from django.urls import re_path

from .views import ATMPageView, DispenseView

urlpatterns = [
    # With and without the trailing slash, like every other route.
    re_path(r"^atm/?$", ATMPageView.as_view(), name="atm"),
    re_path(r"^atm/dispense/?$", DispenseView.as_view(), name="atm-dispense"),
]
