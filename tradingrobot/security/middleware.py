"""Django middleware for the API, OAuth, admin and metrics paths: client IP, IP allowlist, per-IP rate limits (and
one for token requests), and the audit trail."""

import re

from django.conf import settings
from django.http import JsonResponse

from tradingrobot.error_codes import ErrorCode
from tradingrobot.errors import error_body

from .audit import audit_request
from .client_ip import ip_allowed, request_client_ip
from .throttling import precounted_claimed, rate_hit


def guarded_path(path: str) -> bool:
    if any(re.match(pattern, path) for pattern in settings.SECURITY_EXEMPT_PATHS):
        return False
    return path.startswith(tuple(settings.SECURITY_GUARDED_PREFIXES))


def nul_refusal(request) -> tuple[ErrorCode, str] | None:
    """A NUL byte in the path or a query value: no text column can hold it (PostgreSQL refuses it with an error),
    so it is refused before any view, whatever the parameter."""
    if "\x00" in request.path_info or any("\x00" in name + value for name, value in _query_items(request)):
        return ErrorCode.NUL_CHARACTER, "The path or query string contains a NUL character (%00); remove it."
    return None


def _query_items(request):
    for name, values in request.GET.lists():
        for value in values:
            yield name, value


def ip_refusal(ip: str | None) -> tuple[ErrorCode, str] | None:
    if not ip_allowed(ip):
        return ErrorCode.IP_NOT_ALLOWED, f"Requests from {ip} are not allowed (API_IP_ALLOWLIST)."
    return None


TOKEN_PATH = "/o/token/"  # noqa: S105 - a path


def request_buckets(path: str, ip: str | None) -> list[tuple[str, str]]:
    """Every guarded request counts per address; a token request (a client secret to check) also in its own bucket."""
    buckets = [(f"ip:{ip}", settings.THROTTLE_RATES["ip"])]
    if path == TOKEN_PATH:
        buckets.append((f"token-ip:{ip}", settings.THROTTLE_RATE_TOKEN))
    return buckets


class ClientIpMiddleware:
    """Runs before authentication, so floods and key guessing from one address are limited too."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        ip = request_client_ip(request)
        if guarded_path(request.path_info):
            refusal = ip_refusal(ip)
            if refusal:
                return JsonResponse(error_body(refusal[1], refusal[0]), status=403)
            malformed = nul_refusal(request)
            if malformed:
                return JsonResponse(error_body(malformed[1], malformed[0]), status=400)
            for bucket, rate in request_buckets(request.path_info, ip):
                if precounted_claimed(request.META, bucket, rate):
                    continue
                wait = rate_hit(bucket=bucket, rate=rate)
                if wait is not None:
                    response = JsonResponse(
                        error_body(f"Too many requests from {ip}; retry in {wait} s.", ErrorCode.THROTTLED), status=429
                    )
                    response["Retry-After"] = str(wait)
                    return response
        return self.get_response(request)


class AuditMiddleware:
    """Records the audited API and admin operations once the response is known."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        audit_request(request, response)
        return response
