from django.urls import re_path

from .views import ATMPageView, DispenseView, FaviconView, HomePageView

urlpatterns = [
    re_path(r"^$", HomePageView.as_view(), name="home"),
    re_path(r"^favicon\.ico$", FaviconView.as_view(), name="favicon"),
    # With and without the trailing slash, like every other route.
    re_path(r"^atm/?$", ATMPageView.as_view(), name="atm"),
    re_path(r"^atm/dispense/?$", DispenseView.as_view(), name="atm-dispense"),
]
