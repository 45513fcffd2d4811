"""What a credential may do and how it is named, whichever kind it is (API key, OAuth 2.0 token, or a staff user
logged in to the live page, who may only watch the updates stream: its writes go through session + CSRF)."""

from django.contrib.auth.models import AbstractBaseUser
from oauth2_provider.models import AbstractAccessToken

from .models import ApiKey
from .scopes import ADMIN, READ


def _is_staff(user: AbstractBaseUser) -> bool:
    return bool(user.is_active and getattr(user, "is_staff", False))


def principal_scopes(auth) -> frozenset[str]:
    if isinstance(auth, ApiKey):
        return auth.scope_set
    if isinstance(auth, AbstractAccessToken):
        return frozenset(auth.scope.split()) if not auth.is_expired() else frozenset()
    if isinstance(auth, AbstractBaseUser):
        return frozenset({READ}) if _is_staff(auth) else frozenset()
    return frozenset()


def principal_id(auth) -> str | None:
    """A stable id for rate limits and WebSocket tickets."""
    if isinstance(auth, ApiKey):
        return f"key:{auth.prefix}"
    if isinstance(auth, AbstractAccessToken):
        return f"oauth:{auth.application_id}"
    if isinstance(auth, AbstractBaseUser):
        return f"user:{auth.pk}"
    return None


def principal_ticket(auth) -> dict | None:
    if isinstance(auth, ApiKey):
        return {"kind": "key", "id": auth.pk}
    if isinstance(auth, AbstractAccessToken):
        return {"kind": "oauth", "id": auth.pk}
    if isinstance(auth, AbstractBaseUser):
        return {"kind": "user", "id": auth.pk}
    return None


def principal_of(request) -> str:
    """The principal a request acts for (orders belong to it); requests without a credential never reach here."""
    ident = principal_id(getattr(request, "auth", None))
    return ident or f"anonymous@{request.META.get('REMOTE_ADDR', '?')}"


def principal_is_admin(request) -> bool:
    """Holds the `admin` scope: may act on every principal's orders."""
    return ADMIN in principal_scopes(getattr(request, "auth", None))
