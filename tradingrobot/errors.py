"""Domain errors with a stable code and an HTTP status, and their JSON rendering.

Every error body keeps the original backend's keys (`status`, `message`) and adds `code`.
"""

import logging
from http import HTTPStatus
from typing import Any, cast

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404, HttpRequest, JsonResponse
from rest_framework import exceptions as drf_exceptions
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from .error_codes import ErrorCode, error_code, error_code_of

logger = logging.getLogger(__name__)


class DomainError(Exception):
    """A refusal with a catalogued code; the HTTP status is the code's."""

    code: ErrorCode = ErrorCode.BAD_REQUEST

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        error_code(cls.code)  # a subclass's own `code = "..."` would be an unlisted public code

    def __init__(self, message: str, *, code: ErrorCode | None = None, **extra: Any) -> None:
        super().__init__(message)
        if code is not None:
            self.code = error_code(code)
        self.message = message
        self.extra = extra

    @property
    def status_code(self) -> HTTPStatus:
        return self.code.status


class InvalidInput(DomainError):
    code = ErrorCode.INVALID_INPUT


class NotFound(DomainError):
    code = ErrorCode.NOT_FOUND


class Forbidden(DomainError):
    code = ErrorCode.ORDER_NOT_YOURS


class Conflict(DomainError):
    code = ErrorCode.CONFLICT


class Unprocessable(DomainError):
    code = ErrorCode.UNPROCESSABLE


class TradingHalted(DomainError):
    code = ErrorCode.TRADING_HALTED


def error_body(message: str, code: ErrorCode, **extra: Any) -> dict[str, Any]:
    return {"status": "error", "code": error_code(code).value, "message": message, **extra}


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


# Django's own (a bad ?format= raises Http404): answered as DRF's, with the catalogue's code, like the others.
DJANGO_ERRORS = {
    Http404: (drf_exceptions.NotFound, ErrorCode.NOT_FOUND),
    DjangoPermissionDenied: (drf_exceptions.PermissionDenied, ErrorCode.PERMISSION_DENIED),
}


def drf_error_code(exc: drf_exceptions.APIException) -> ErrorCode:
    """The catalogue member for a DRF exception: the member it was raised with, else its `default_code`
    (ParseError is `malformed_request`)."""
    raised_with = getattr(getattr(exc, "detail", None), "code", None)
    if isinstance(raised_with, ErrorCode):
        return raised_with
    if isinstance(exc, drf_exceptions.ParseError):
        return ErrorCode.MALFORMED_REQUEST
    try:
        return error_code_of(exc.default_code)
    except KeyError:
        logger.error("DRF exception %s has the uncatalogued code %r", type(exc).__name__, exc.default_code)
        return ErrorCode.ERROR


def api_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, DomainError):
        return Response(error_body(exc.message, exc.code, **exc.extra), status=exc.status_code)
    for django_error, (drf_error, code) in DJANGO_ERRORS.items():
        if isinstance(exc, django_error):
            exc = drf_error(code=code)
    response = drf_exception_handler(exc, context)
    if response is None:
        return None  # unexpected: Django answers 500 through handler500
    if isinstance(exc, drf_exceptions.MethodNotAllowed):
        view = context.get("view")
        allowed = ", ".join(m for m in getattr(view, "allowed_methods", []) if m != "OPTIONS")
        request = context["request"]
        message = f"Method {request.method} is not allowed on {request.path}; use {allowed}."
        response.data = error_body(message, ErrorCode.METHOD_NOT_ALLOWED)
        return response
    api_exc = cast(drf_exceptions.APIException, exc)  # DRF's handler answered: an APIException
    message, extra = _drf_message(api_exc)
    code = drf_error_code(api_exc)
    if isinstance(exc, drf_exceptions.ParseError):
        message = f"{message} Send valid JSON (or form data)."
    response.data = error_body(message, code, **extra)
    return response


def json_not_found(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    return JsonResponse(
        error_body(
            f"No route matches {request.method} {request.path}. See /api/docs/ for the API.", ErrorCode.NOT_FOUND
        ),
        status=404,
    )


def json_server_error(request: HttpRequest) -> JsonResponse:
    return JsonResponse(error_body("Internal server error; it has been logged.", ErrorCode.SERVER_ERROR), status=500)


def json_bad_request(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    return JsonResponse(error_body("Bad request.", ErrorCode.BAD_REQUEST), status=400)


def json_permission_denied(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    return JsonResponse(error_body("Permission denied.", ErrorCode.PERMISSION_DENIED), status=403)
