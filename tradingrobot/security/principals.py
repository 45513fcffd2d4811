"""What a credential may do and how it is named, whichever kind it is (API key or OAuth 2.0 token)."""

from oauth2_provider.models import AbstractAccessToken

from .models import ApiKey


def principal_scopes(auth) -> frozenset[str]:
    if isinstance(auth, ApiKey):
        return auth.scope_set
    if isinstance(auth, AbstractAccessToken):
        return frozenset(auth.scope.split()) if not auth.is_expired() else frozenset()
    return frozenset()


def principal_id(auth) -> str | None:
    """A stable id for rate limits and WebSocket tickets."""
    if isinstance(auth, ApiKey):
        return f"key:{auth.prefix}"
    if isinstance(auth, AbstractAccessToken):
        return f"oauth:{auth.application_id}"
    return None


def principal_ticket(auth) -> dict | None:
    if isinstance(auth, ApiKey):
        return {"kind": "key", "id": auth.pk}
    if isinstance(auth, AbstractAccessToken):
        return {"kind": "oauth", "id": auth.pk}
    return None
