"""The fast path's reply (tradingrobot/fast_path.py) without running Django's handler and the lean middleware chain
for every request: the chain's headers are the same for every request of one kind, so they are taken from the
chain itself and reused.

A kind is the path, the method, the scheme (and X-Forwarded-Proto), the Origin and the view's own headers. The
first two requests of a kind go through the lean chain (FastHandler) as before; when the chain gave both the same
status and the same headers, less the request id, later requests of that kind reuse them. What differs per
request is still done by its owner: the request id (ops.logs.request_id_start), the metrics (the configured
django_prometheus middleware's own hooks), and Django's request_started / request_finished signals (the
response's close sends the latter, as under the handler, once the body is complete: the answer is one list).
A chain holding any other middleware, a kind whose headers differ between two requests, and kinds beyond
MAX_KINDS are always answered by the chain.
"""

import contextlib
from collections.abc import Callable
from typing import Any

from django.core.handlers.wsgi import WSGIRequest
from django.http import HttpResponse
from django.http.response import HttpResponseBase
from django.urls import ResolverMatch
from django.utils.module_loading import import_string
from django_prometheus.middleware import PrometheusAfterMiddleware, PrometheusBeforeMiddleware

from tradingrobot import request_signals
from tradingrobot.ops.logs import REQUEST_ID_HEADER, request_id_end, request_id_start

MAX_KINDS = 64
HEADER_ONLY = frozenset(  # the same headers for every request of a kind: taken from the chain's answers
    {"django.middleware.security.SecurityMiddleware", "corsheaders.middleware.CorsMiddleware"}
)
REQUEST_ID = "tradingrobot.ops.logs.RequestIdMiddleware"
Headers = list[tuple[str, str]]


class Prepared:
    """A kind's status line and headers, and where the request id goes in them."""

    def __init__(self, status: str, headers: Headers):
        self.status = status
        self.headers = headers
        self.request_id_at = next(i for i, (name, _) in enumerate(headers) if name == REQUEST_ID_HEADER)

    def headers_with(self, request_id: str) -> Headers:
        headers = self.headers.copy()
        headers[self.request_id_at] = (REQUEST_ID_HEADER, request_id)
        return headers

    def same_as(self, other: "Prepared") -> bool:
        return (self.status, self.headers_with("")) == (other.status, other.headers_with(""))


def _metrics_hooks(chain: list[str]) -> tuple[list[Any], list[Any]] | None:
    """The chain's django_prometheus middleware (before, after), or None when the chain holds middleware whose
    per-request work a prepared reply would not do."""
    before, after = [], []
    for path in chain:
        cls = import_string(path)
        if issubclass(cls, PrometheusBeforeMiddleware):
            before.append(cls(lambda request: None))
        elif issubclass(cls, PrometheusAfterMiddleware):
            after.append(cls(lambda request: None))
        elif path not in HEADER_ONLY and path != REQUEST_ID:
            return None
    return (before, after) if REQUEST_ID in chain else None


class FastReply:
    """Writes the fast path's (match, response): prepared when its kind is, else through `chain`."""

    def __init__(self, chain: Callable, middleware: list[str]):
        self.chain = chain
        self.hooks = _metrics_hooks(middleware)
        self.kinds: dict[tuple, Prepared | None] = {}  # None: never prepared (its two answers differed)
        self.seen: dict[tuple, Prepared] = {}

    def __call__(self, environ: dict, start_response: Callable, match: ResolverMatch, response: HttpResponse):
        kind = self._kind(environ, response)
        prepared = self.kinds.get(kind) if kind is not None else None
        if prepared is None:
            return self._through_chain(environ, start_response, kind, response)
        return self._prepared(environ, start_response, match, response, prepared)

    def _kind(self, environ: dict, response: HttpResponse) -> tuple | None:
        if response.streaming or response.cookies:
            return None
        return (
            environ.get("PATH_INFO"),
            environ.get("REQUEST_METHOD"),
            environ.get("wsgi.url_scheme"),
            environ.get("HTTP_X_FORWARDED_PROTO"),
            environ.get("HTTP_ORIGIN"),
            tuple(response.items()),
        )

    def _through_chain(self, environ: dict, start_response: Callable, kind: tuple | None, response: HttpResponse):
        answered: list[Prepared | None] = []

        def capturing(status: str, headers: Headers, exc_info=None):
            answered.append(Prepared(status, list(headers)) if _has_request_id(headers) else None)
            return start_response(status, headers, exc_info)

        returned = self.chain(environ, capturing)
        if kind is not None and len(answered) == 1:
            # Learned only from the chain's answer of this very response, with its status (no error, no
            # middleware's own answer in its place).
            alike = returned is response and answered[0] is not None
            alike = alike and answered[0].status.startswith(f"{response.status_code} ")  # type: ignore[union-attr]
            self._learn(kind, answered[0] if alike else None)
        return returned

    def _learn(self, kind: tuple, answer: "Prepared | None") -> None:
        if kind in self.kinds or self.hooks is None:
            return  # decided already
        first = self.seen.pop(kind, None)
        if answer is None:
            return  # not a plain answer of the response (an error, say): nothing learned, start again
        if first is None:
            if len(self.kinds) < MAX_KINDS:
                self.seen[kind] = answer
                while len(self.seen) > MAX_KINDS:  # the oldest kind seen once is forgotten
                    self.seen.pop(next(iter(self.seen)))
        else:
            self.kinds[kind] = answer if first.same_as(answer) else None

    def _prepared(self, environ, start_response, match, response: HttpResponse, prepared: Prepared):
        request_signals.request_started.send(self.__class__, environ=environ)
        request = WSGIRequest(environ)
        request.resolver_match = match
        befores, afters = self.hooks  # type: ignore[misc]  # checked by the caller
        request_id = request_id_start(request)
        try:
            for hook in befores:
                hook.process_request(request)
            for hook in afters:
                hook.process_request(request)
                hook.process_view(request, match.func, match.args, match.kwargs)
            for hook in reversed(afters):
                hook.process_response(request, response)
            for hook in reversed(befores):
                hook.process_response(request, response)
        except BaseException:
            request_id_end()
            raise
        start_response(prepared.status, prepared.headers_with(request_id))
        # The body is rendered bytes: handed over as one list (Granian writes a list in one call and sets its
        # Content-Length, an iterable chunk by chunk), so the request is finished here, as the handler's
        # response.close() would finish it after the last chunk.
        body = response.content
        _closed(response, self.__class__)
        return [body]


def _closed(response: HttpResponse, handler_class: type) -> None:
    """response.close(), as the handler's WSGI server calls it: its resources closed, then request_finished sent
    (request_signals: the receivers without Signal.send's per-send work)."""
    if type(response).close is not HttpResponseBase.close:  # its own close: called as is
        response._handler_class = handler_class  # type: ignore[attr-defined]  # close() sends request_finished
        response.close()
        return
    for closer in response._resource_closers:  # type: ignore[attr-defined]  # HttpResponseBase.close's steps
        with contextlib.suppress(Exception):
            closer()
    response._resource_closers.clear()  # type: ignore[attr-defined]
    response.closed = True
    request_signals.request_finished.send(handler_class)


def _has_request_id(headers: Headers) -> bool:
    return any(name == REQUEST_ID_HEADER for name, _ in headers)
