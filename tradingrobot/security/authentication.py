"""DRF authentication by API key (`Authorization: Api-Key <key>` or `X-API-Key: <key>`) and by OAuth 2.0 token."""

from typing import Any

from django.contrib.auth.models import AnonymousUser
from oauth2_provider.contrib.rest_framework import OAuth2Authentication
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication

from tradingrobot.error_codes import ErrorCode

from .keys import KeyRejected, api_key_check

KEYWORD = "api-key"


class InvalidCredentials(exceptions.AuthenticationFailed):
    default_code = ErrorCode.INVALID_CREDENTIALS


class InvalidApiKey(InvalidCredentials):
    default_code = ErrorCode.INVALID_API_KEY


class RevokedApiKey(InvalidCredentials):
    default_code = ErrorCode.REVOKED_API_KEY


class ExpiredApiKey(InvalidCredentials):
    default_code = ErrorCode.EXPIRED_API_KEY


REJECTIONS = {"invalid": InvalidApiKey, "revoked": RevokedApiKey, "expired": ExpiredApiKey}


class CredentialsMissing(exceptions.NotAuthenticated):
    default_code = ErrorCode.NOT_AUTHENTICATED
    default_detail = (
        "Authentication required: send 'Authorization: Api-Key <key>' or 'X-API-Key: <key>' "
        "(or an OAuth 2.0 bearer token)."
    )


def key_from_headers(authorization: str | None, x_api_key: str | None) -> str | None:
    """The plain key sent in either header; None when neither carries one; an error when both differ."""
    from_auth = None
    if authorization:
        keyword, _, value = authorization.strip().partition(" ")
        if keyword.lower() == KEYWORD:
            from_auth = value.strip()
            if not from_auth:
                raise InvalidCredentials("The Authorization header says Api-Key but carries no key.")
    from_header = (x_api_key or "").strip() or None
    if from_auth and from_header and from_auth != from_header:
        raise InvalidCredentials("Authorization and X-API-Key carry different keys; send one.")
    return from_auth or from_header


def _key_authenticated(plain: str) -> tuple[AnonymousUser, Any]:
    """DRF's (user, auth) for a robot API key, or the rejection's 401/403 (one check for every header style)."""
    try:
        api_key = api_key_check(plain)
    except KeyRejected as rejected:
        raise REJECTIONS[rejected.reason](rejected.message)
    return AnonymousUser(), api_key


class ApiKeyAuthentication(BaseAuthentication):
    def authenticate(self, request):
        plain = key_from_headers(request.META.get("HTTP_AUTHORIZATION"), request.META.get("HTTP_X_API_KEY"))
        if plain is None:
            return None
        return _key_authenticated(plain)

    def authenticate_header(self, request):
        return 'Api-Key realm="api"'


class AlpacaHeaderAuthentication(BaseAuthentication):
    """Alpaca's headers carrying a robot API key, for the /v2/ surface: APCA-API-KEY-ID is the key's prefix,
    APCA-API-SECRET-KEY its secret (the part after the dot, or the whole key)."""

    def authenticate(self, request):
        key_id = (request.META.get("HTTP_APCA_API_KEY_ID") or "").strip()
        secret = (request.META.get("HTTP_APCA_API_SECRET_KEY") or "").strip()
        if not key_id and not secret:
            return None
        if not key_id or not secret:
            raise InvalidCredentials("Send both APCA-API-KEY-ID (the key's prefix) and APCA-API-SECRET-KEY.")
        plain = secret if "." in secret else f"{key_id}.{secret}"
        if plain.partition(".")[0] != key_id:
            raise InvalidCredentials("APCA-API-KEY-ID is not the prefix of the key in APCA-API-SECRET-KEY.")
        return _key_authenticated(plain)

    def authenticate_header(self, request):
        return 'APCA-API-KEY-ID realm="v2"'


class ScopedOAuth2Authentication(OAuth2Authentication):
    """django-oauth-toolkit's bearer tokens; a token whose client has no user acts as that client."""

    def authenticate(self, request):
        result = super().authenticate(request)
        if result is None:
            return None
        user, token = result
        return (user or AnonymousUser()), token
