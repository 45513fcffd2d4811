"""Log context: a request id on every line logged while a request is served, the task id (and the request id
of the request that queued it) on every line logged in a Celery task. JSON lines through python-json-logger.
"""

import contextvars
import logging
import os
import re

from asgiref.sync import iscoroutinefunction, markcoroutinefunction, sync_to_async
from celery import signals
from django.core.signals import request_finished

REQUEST_ID_HEADER = "X-Request-ID"
_REQUEST_ID_META = "HTTP_X_REQUEST_ID"  # request.headers[REQUEST_ID_HEADER] without building request.headers
_VALID_ID = re.compile(r"^[A-Za-z0-9._:@/+=-]{1,128}$")

request_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)
task_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar("task_id", default=None)
task_name_var: contextvars.ContextVar[str | None] = contextvars.ContextVar("task_name", default=None)


class LogContextFilter(logging.Filter):
    """Adds request_id / task_id / task_name to a record when they are known (attach it to a handler)."""

    def filter(self, record: logging.LogRecord) -> bool:
        for attribute, var in (("request_id", request_id_var), ("task_id", task_id_var), ("task_name", task_name_var)):
            value = var.get()
            if value is not None and not hasattr(record, attribute):
                setattr(record, attribute, value)
        return True


def request_id_from(header: str | None) -> str:
    """The caller's X-Request-ID when it is a sane token, else a new one."""
    if header and _VALID_ID.match(header.strip()):
        return header.strip()
    return _new_id()


def _new_id() -> str:
    """What uuid.uuid4().hex gives, without making a UUID object (a third of its cost): 16 random bytes with
    the version (4) and variant (RFC 4122) bits set."""
    raw = bytearray(os.urandom(16))
    raw[6] = raw[6] & 0x0F | 0x40
    raw[8] = raw[8] & 0x3F | 0x80
    return raw.hex()


def request_id_start(request) -> str:
    """The request's id (request.request_id), kept for the logs of this request until it finishes."""
    request.request_id = request_id_from(request.META.get(_REQUEST_ID_META))
    request_id_var.set(request.request_id)
    return request.request_id


def request_id_end() -> None:
    request_id_var.set(None)


class RequestIdMiddleware:
    """Takes the incoming X-Request-ID (or makes one), keeps it for the logs of this request, returns it.
    Also counts server errors for the robot's own alerts (`ops.alerts`)."""

    sync_capable = True
    async_capable = True

    def __init__(self, get_response):
        self.get_response = get_response
        if iscoroutinefunction(get_response):
            markcoroutinefunction(self)

    def __call__(self, request):
        if iscoroutinefunction(self):
            return self.__acall__(request)
        request_id_start(request)
        response = self.get_response(request)
        response[REQUEST_ID_HEADER] = request.request_id
        if _is_server_error(request, response):
            _error_count()
        return response

    async def __acall__(self, request):
        request_id_start(request)
        response = await self.get_response(request)
        response[REQUEST_ID_HEADER] = request.request_id
        if _is_server_error(request, response):
            await sync_to_async(_error_count)()
        return response


def _error_count() -> None:
    from .errors import error_count  # not at import: LOGGING loads this module before the apps are ready

    error_count(source="http")


def _is_server_error(request, response) -> bool:
    """A 5xx, except readiness's 503: not being ready is no server error."""
    if response.status_code < 500:
        return False
    match = getattr(request, "resolver_match", None)
    return match is None or match.url_name != "health-ready"


def _on_request_finished(**kwargs) -> None:
    """The id stays set until the response is closed, so Django's own request log line carries it too (it is
    written after the middleware returns); under ASGI each request has its own context anyway."""
    request_id_end()


def install_request_hooks() -> None:
    request_finished.connect(_on_request_finished, dispatch_uid="ops-request-finished")


# --- Celery ------------------------------------------------------------------------------------------------


def _on_publish(headers=None, **kwargs) -> None:
    """Carry the request id of the request that queues a task into the task's headers."""
    request_id = request_id_var.get()
    if request_id and headers is not None:
        headers.setdefault("request_id", request_id)


def _on_prerun(task_id=None, task=None, **kwargs) -> None:
    task_id_var.set(task_id)
    task_name_var.set(getattr(task, "name", None))
    request = getattr(task, "request", None)
    headers = getattr(request, "headers", None) or {}
    request_id_var.set(getattr(request, "request_id", None) or headers.get("request_id"))


def _on_postrun(**kwargs) -> None:
    task_id_var.set(None)
    task_name_var.set(None)
    request_id_var.set(None)


def install_celery_hooks() -> None:
    signals.before_task_publish.connect(_on_publish, weak=False, dispatch_uid="ops-log-publish")
    signals.task_prerun.connect(_on_prerun, weak=False, dispatch_uid="ops-log-prerun")
    signals.task_postrun.connect(_on_postrun, weak=False, dispatch_uid="ops-log-postrun")


def json_formatter(**kwargs) -> logging.Formatter:
    """The JSON formatter for LOGGING (`"()": "tradingrobot.ops.logs.json_formatter"`); tracebacks are redacted
    like messages (it formats them itself, after the redaction filter ran)."""
    from pythonjsonlogger.json import JsonFormatter

    from tradingrobot.security.redaction import redact

    class RedactingJsonFormatter(JsonFormatter):
        def formatException(self, ei) -> str:
            # the stub says str | list[str]; logging.Formatter.formatException returns a str
            return redact(super().formatException(ei))  # type: ignore[arg-type]

    return RedactingJsonFormatter(
        "%(asctime)s %(levelname)s %(name)s %(message)s",
        rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
        timestamp=False,
        **kwargs,
    )
