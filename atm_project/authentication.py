"""JWT authentication without reading the user row, for the transfer endpoint (the hot path).

simplejwt's JWTAuthentication reads the user on every request (one query) to refuse deleted and
deactivated users. `TokenUserAuthentication` takes *who* from the signed token and leaves *may
they still act* to a query the request makes anyway: the transfer's lock query reads the owner
with the accounts, and `transactions.services._customer_account` refuses an inactive owner
under the lock, with the same 401 JWTAuthentication would give. A deleted user cannot own the
source account (accounts are PROTECTed), so the transfer is refused as for any foreign account.

The user is a real `User` instance that holds only its primary key (every other field is
deferred and loads on first access), so the ORM takes it for foreign keys and filters, and
`actor.pk` is free. Use this class only on views whose every action makes that check.
"""

from django.contrib.auth import get_user_model
from django.db import DEFAULT_DB_ALIAS
from drf_spectacular.contrib.rest_framework_simplejwt import SimpleJWTScheme
from rest_framework_simplejwt.authentication import JWTAuthentication
from rest_framework_simplejwt.exceptions import InvalidToken
from rest_framework_simplejwt.settings import api_settings


class TokenUserAuthentication(JWTAuthentication):
    def get_user(self, validated_token):
        try:
            user_id = validated_token[api_settings.USER_ID_CLAIM]
        except KeyError as error:
            raise InvalidToken("Token contained no recognizable user identification") from error
        user_model = get_user_model()
        pk = user_model._meta.pk
        # from_db marks every field not named here as deferred (loaded on first access).
        return user_model.from_db(DEFAULT_DB_ALIAS, [pk.attname], [pk.to_python(user_id)])


class TokenUserAuthenticationScheme(SimpleJWTScheme):
    """OpenAPI: the same bearer JWT as simplejwt's own class (without it drf-spectacular warns,
    and `manage.py check --deploy --fail-level WARNING` fails)."""

    target_class = TokenUserAuthentication
    # One name per class: drf-spectacular refuses two classes under simplejwt's "jwtAuth".
    name = "jwtTokenUserAuth"
