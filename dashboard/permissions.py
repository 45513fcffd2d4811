"""Who may see and use the live page: staff users logged in through Django's auth (a session, never an API key).

The page's JSON routes reuse the API's views with session authentication (DRF enforces CSRF on writes) and map the
API's scopes to the user: `read` and `trade` to staff, `admin` (stop and resume trading, cancel another principal's
or a liquidation order, see every client_order_id) to staff holding the `trading.halt_trading` permission.
A staff user is the principal `user:<id>`."""

from rest_framework.authentication import SessionAuthentication
from rest_framework.permissions import BasePermission

from trading.authority import Authority
from tradingrobot.security.scopes import ADMIN, required_scope

HALT_PERMISSION = "trading.halt_trading"


def user_is_operator(user) -> bool:
    return bool(user and user.is_authenticated and user.is_active and user.is_staff)


def user_may_halt(user) -> bool:
    return user_is_operator(user) and user.has_perm(HALT_PERMISSION)


class StaffSessionPermission(BasePermission):
    message = "The live page's data is for staff users logged in at /dashboard/login/."

    def has_permission(self, request, view):
        if not user_is_operator(request.user):
            return False
        if required_scope(view, request.method) == ADMIN:
            self.message = f"Stopping and resuming trading needs the '{HALT_PERMISSION}' permission."
            return user_may_halt(request.user)
        return True


class StaffSession:
    """Mixin for an API view served to the page: session + CSRF instead of keys, staff instead of scopes."""

    authentication_classes = [SessionAuthentication]
    permission_classes = [StaffSessionPermission]
    schema = None  # the page's routes are not part of the public API description

    def authority(self, request) -> Authority:
        return Authority(principal=f"user:{request.user.pk}", admin=user_may_halt(request.user))
