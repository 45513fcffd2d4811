from rest_framework import exceptions
from rest_framework.permissions import BasePermission

from tradingrobot.error_codes import ErrorCode

from .authentication import CredentialsMissing
from .principals import principal_scopes
from .scopes import required_scope


class MissingScope(exceptions.PermissionDenied):
    default_code = ErrorCode.MISSING_SCOPE


class HasScope(BasePermission):
    """The credential must carry the scope the view declares (`required_scope`); no credential is a 401."""

    def has_permission(self, request, view):
        if request.auth is None:
            raise CredentialsMissing()
        scope = required_scope(view, request.method)
        if scope not in principal_scopes(request.auth):
            raise MissingScope(
                f"This credential lacks the '{scope}' scope, which {request.method} {request.path} requires."
            )
        return True
