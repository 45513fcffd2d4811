"""The fast path of the hottest reads (API_LEAN_PATHS, by default GET /api/status): the request answered without
Django's URL routing, DRF's request machinery or the per-check round trips to Redis, calling the same functions
the full path calls, in its order:

  the client IP and its allowlist, the per-address buckets (security.middleware), DRF's content negotiation, the
  view's API key authentication, permission (scope) and throttle buckets, the view's own handler (for the status:
  the prepared bytes, trading.documents.status_document_bytes) and DRF's response headers.

Every rate-limit count and the memos' versions take one pipelined round trip (throttling.rates_hit). The answer
then goes through the lean middleware chain (metrics, request id, security headers, CORS) as on the lean path,
less the two whose work was done here (the client-IP checks; the audit: an audited view is never fast), or, once
the chain has answered two requests of its kind alike, with the chain's headers reused (tradingrobot/fast_reply.py).

Anything that is not a plain success (no key, a bad key, a missing scope, throttled, the cache down, a query
string, an error...) takes its counts back and falls through to the lean path, so every refusal and error is
answered by the code that owns it, exactly as before.
"""

import logging
from collections.abc import Callable, Iterable
from typing import Any

from django.conf import settings
from django.core.handlers.base import BaseHandler
from django.http import HttpResponse
from django.urls import Resolver404, ResolverMatch, get_urlconf, resolve
from rest_framework.exceptions import APIException
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.views import APIView

from tradingrobot.fast_reply import FastReply
from tradingrobot.lean import LEAN_SKIPPED_MIDDLEWARE, CountedAhead, LeanWSGIHandler, count_ahead, lean_middleware
from tradingrobot.lean_post import LeanByKey
from tradingrobot.security.authentication import ApiKeyAuthentication, InvalidCredentials, key_from_headers
from tradingrobot.security.client_ip import client_ip
from tradingrobot.security.middleware import guarded_path, ip_refusal
from tradingrobot.security.principals import principal_id
from tradingrobot.security.throttling import _CacheThrottle, rates_unhit
from tradingrobot.snapshot_cache import versions_pinned

logger = logging.getLogger(__name__)
MAX_NEGOTIATIONS = 256  # kept choices of a renderer (Accept headers); beyond, forgotten and chosen afresh
ANSWER = "tradingrobot.fast_answer"  # environ key: the (match, response) the fast handler's chain answers with
DONE_HERE = frozenset(
    {"tradingrobot.security.middleware.ClientIpMiddleware", "tradingrobot.security.middleware.AuditMiddleware"}
)


class FastHandler(LeanWSGIHandler):
    """The lean chain without the middleware whose work the fast path did; its view is the prepared answer."""

    skipped = LEAN_SKIPPED_MIDDLEWARE | DONE_HERE

    def _get_response(self, request):
        match, response = request.environ[ANSWER]
        request.resolver_match = match
        for process_view in self._view_middleware:  # metrics label the request by its view
            early = process_view(request, match.func, match.args, match.kwargs)
            if early is not None:
                return early
        if callable(getattr(response, "render", None)):  # a DRF Response: rendered as Django's handler does
            for process_template_response in self._template_response_middleware:
                response = process_template_response(request, response)
            response = response.render()
        return response


def _eligible(view_class: Any, method: str) -> bool:
    """A DRF view whose first authentication is the API key, whose throttles count in the cache, unaudited."""
    if not (isinstance(view_class, type) and issubclass(view_class, APIView)):
        return False
    view = view_class()
    authenticators = view.get_authenticators()
    return (
        bool(authenticators)
        and type(authenticators[0]) is ApiKeyAuthentication
        and all(isinstance(throttle, _CacheThrottle) for throttle in view.get_throttles())
        and not getattr(view_class, "audit_action", None)
        and hasattr(view, "get")
        and method in ("GET", "HEAD")
    )


class FastPath:
    """A WSGI application: the fast answer of a GET/HEAD of `paths`, else `fallback`'s."""

    def __init__(self, paths: Iterable[str], fallback: Callable):
        self.paths = frozenset(paths)
        self.fallback = fallback
        self.handler = FastHandler()
        self.reply = FastReply(self.handler, lean_middleware(settings.MIDDLEWARE, FastHandler.skipped))
        self._matches: dict[tuple[Any, str, str], ResolverMatch | None] = {}
        self._negotiations: dict[tuple, tuple[int, str]] = {}

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path in self.paths and environ.get("REQUEST_METHOD") in ("GET", "HEAD") and not environ.get("QUERY_STRING"):
            answer = self.answer(environ, path)
            if answer is not None:
                environ[ANSWER] = answer
                return self.reply(environ, start_response, *answer)
        return self.fallback(environ, start_response)

    def _match(self, path: str, method: str) -> ResolverMatch | None:
        key = (get_urlconf(), path, method)
        if key not in self._matches:
            try:
                match = resolve(path)
            except Resolver404:  # the full path answers it
                match = None
            eligible = match is not None and _eligible(getattr(match.func, "cls", None), method)
            self._matches[key] = match if eligible else None
        return self._matches[key]

    def answer(self, environ: dict, path: str) -> tuple[ResolverMatch, HttpResponse] | None:
        """The (match, response) of a plain success, or None: the request falls through, nothing counted."""
        match = self._match(path, environ["REQUEST_METHOD"]) if guarded_path(path) else None
        if match is None:
            return None
        ip = client_ip(environ.get("REMOTE_ADDR"), environ.get("HTTP_X_FORWARDED_FOR"))
        if ip_refusal(ip) is not None or "\x00" in path:
            return None
        try:
            plain = key_from_headers(environ.get("HTTP_AUTHORIZATION"), environ.get("HTTP_X_API_KEY"))
        except InvalidCredentials:  # refused by the full path
            return None
        if plain is None:
            return None
        counted = count_ahead(environ, path, match, plain, ip)
        if counted is None:
            return None
        probe, view = counted.probe, counted.view
        view.setup(probe, *match.args, **match.kwargs)
        view.headers = view.default_response_headers
        try:
            view.format_kwarg = view.get_format_suffix(**match.kwargs)
            probe.accepted_renderer, probe.accepted_media_type = self._negotiated(view, probe)
            probe.version, probe.versioning_scheme = view.determine_version(probe, *match.args, **match.kwargs)
        except APIException:  # not acceptable, a bad version: the full path answers it
            served = None
        else:
            served = self._served(view, match, counted)
        if served is None:
            rates_unhit(counted.hit)
        return served

    def _negotiated(self, view: APIView, probe: Any) -> tuple[Any, str]:
        """view.perform_content_negotiation(probe): DRF's default negotiation chooses by the renderers, the format
        and the Accept header alone (the fast path takes no query string), so its choice is kept per those."""
        renderers = view.get_renderers()
        negotiator = view.get_content_negotiator()
        if type(negotiator) is not DefaultContentNegotiation:
            return negotiator.select_renderer(probe, renderers, view.format_kwarg)
        offered = tuple((type(r), r.media_type, r.format) for r in renderers)
        key = (offered, view.format_kwarg, probe.META.get("HTTP_ACCEPT"))
        chosen = self._negotiations.get(key)
        if chosen is None:
            renderer, media_type = negotiator.select_renderer(probe, renderers, view.format_kwarg)
            if len(self._negotiations) >= MAX_NEGOTIATIONS:
                self._negotiations.clear()
            chosen = self._negotiations[key] = (renderers.index(renderer), media_type)
        return renderers[chosen[0]], chosen[1]

    def _served(self, view, match: ResolverMatch, counted: CountedAhead):
        probe, throttles, buckets = counted.probe, counted.throttles, counted.buckets
        provisional = probe.auth
        try:
            with versions_pinned(counted.hit.values):
                authenticated = view.get_authenticators()[0].authenticate(probe)
                if authenticated is None:
                    return None
                probe.user, probe.auth = authenticated
                if principal_id(probe.auth) != principal_id(provisional):
                    return None
                if probe.buckets(view, throttles) != buckets:
                    return None
                if not all(permission.has_permission(probe, view) for permission in view.get_permissions()):
                    return None
                response = getattr(view, probe.method.lower())(probe, *match.args, **match.kwargs)
                response = view.finalize_response(probe, response, *match.args, **match.kwargs)
        except Exception:  # a refusal or an error: the full path gives its answer (its 4xx, or its 500 and log)
            logger.debug("fast path fell through for %s", probe.path, exc_info=True)
            return None
        return match, response


def lean_dispatch(full: BaseHandler) -> Callable:
    """A WSGI application: for GET/HEAD of an API_LEAN_PATHS path the fast path (FastPath, above) and
    when it does not answer the lean handler; for a POST by API key under API_LEAN_POST_PREFIXES or a GET/HEAD
    by API key under API_LEAN_GET_PREFIXES the lean handler with the request's rate counts taken ahead
    (tradingrobot/lean_post.py); `full` for the rest; for every handler, the memos' versions pinned for the
    request."""
    paths = frozenset(settings.API_LEAN_PATHS)
    lean = LeanWSGIHandler() if paths else None
    by_key = [
        LeanByKey(prefixes, methods)
        for prefixes, methods in (
            (settings.API_LEAN_POST_PREFIXES, ("POST",)),
            (settings.API_LEAN_GET_PREFIXES, ("GET", "HEAD")),
        )
        if prefixes
    ]

    def pinned(environ: dict, start_response: Callable) -> Iterable[bytes]:
        for lean_by_key in by_key:
            if lean_by_key.serves(environ):  # pins the versions itself, read with its rate counts
                return lean_by_key(environ, start_response)
        with versions_pinned():  # the key and ledger memos' versions in one round trip, not one each
            if lean and environ.get("PATH_INFO") in paths and environ.get("REQUEST_METHOD") in ("GET", "HEAD"):
                return lean(environ, start_response)
            return full(environ, start_response)  # type: ignore[operator]  # a WSGIHandler is callable

    return FastPath(paths, pinned) if paths else pinned
