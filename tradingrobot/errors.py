"""Domain errors with a stable code and an HTTP status, and their JSON rendering.

Every error body keeps the original backend's keys (`status`, `message`) and adds `code`.
"""

import logging

from django.http import JsonResponse
from rest_framework import exceptions as drf_exceptions
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

logger = logging.getLogger(__name__)


class DomainError(Exception):
    status_code = 400
    code = "bad_request"

    def __init__(self, message: str, *, code: str | None = None, status_code: int | None = None, **extra):
        super().__init__(message)
        self.message = message
        if code:
            self.code = code
        if status_code:
            self.status_code = status_code
        self.extra = extra


class InvalidInput(DomainError):
    status_code = 400
    code = "invalid_input"


class NotFound(DomainError):
    status_code = 404
    code = "not_found"


class Conflict(DomainError):
    status_code = 409
    code = "conflict"


class Unprocessable(DomainError):
    status_code = 422
    code = "unprocessable"


class TradingHalted(DomainError):
    status_code = 423
    code = "trading_halted"


def error_body(message: str, code: str, **extra) -> dict:
    return {"status": "error", "code": code, "message": message, **extra}


def _drf_message(exc: drf_exceptions.APIException) -> tuple[str, dict]:
    detail = exc.detail
    if isinstance(detail, dict):
        parts = []
        for field, errors in detail.items():
            text = " ".join(str(e) for e in errors) if isinstance(errors, list) else str(errors)
            parts.append(text if field == "non_field_errors" else f"{field}: {text}")
        return "; ".join(parts), {"errors": exc.get_full_details()}
    if isinstance(detail, list):
        return " ".join(str(e) for e in detail), {}
    return str(detail), {}


def api_exception_handler(exc, context):
    if isinstance(exc, DomainError):
        return Response(error_body(exc.message, exc.code, **exc.extra), status=exc.status_code)
    response = drf_exception_handler(exc, context)
    if response is None:
        return None  # unexpected: Django answers 500 through handler500
    if isinstance(exc, drf_exceptions.MethodNotAllowed):
        view = context.get("view")
        allowed = ", ".join(m for m in getattr(view, "allowed_methods", []) if m != "OPTIONS")
        request = context["request"]
        message = f"Method {request.method} is not allowed on {request.path}; use {allowed}."
        response.data = error_body(message, "method_not_allowed")
        return response
    message, extra = _drf_message(exc)
    code = getattr(exc, "default_code", "error")
    if isinstance(exc, drf_exceptions.ParseError):
        code = "malformed_request"
        message = f"{message} Send valid JSON (or form data)."
    response.data = error_body(message, code, **extra)
    return response


def json_not_found(request, exception=None):
    return JsonResponse(
        error_body(f"No route matches {request.method} {request.path}. See /api/docs/ for the API.", "not_found"),
        status=404,
    )


def json_server_error(request):
    return JsonResponse(error_body("Internal server error; it has been logged.", "server_error"), status=500)


def json_bad_request(request, exception=None):
    return JsonResponse(error_body("Bad request.", "bad_request"), status=400)


def json_permission_denied(request, exception=None):
    return JsonResponse(error_body("Permission denied.", "permission_denied"), status=403)
