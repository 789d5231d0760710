from django.urls import re_path

from ..numbers import ACCOUNT_NUMBER_REGEX
from .cards import CardIssueView, CardSessionExtendView, CardSignInView

urlpatterns = [
    re_path(
        rf"^accounts/(?P<number>{ACCOUNT_NUMBER_REGEX})/cards/?$",
        CardIssueView.as_view(),
        name="account-cards",
    ),
    # Card sign-in lives with the cards it checks; its path sits beside the other auth routes.
    re_path(r"^auth/card/?$", CardSignInView.as_view(), name="card-sign-in"),
    re_path(r"^auth/card/extend/?$", CardSessionExtendView.as_view(), name="card-extend"),
]
