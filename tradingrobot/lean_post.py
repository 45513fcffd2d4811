"""Requests by API key that take the lean middleware list (tradingrobot/lean.py) with every rate-limit count of
the request taken ahead in one round trip to Redis: POSTs under API_LEAN_POST_PREFIXES (by default the trade
route, /api/trade/) and GET/HEADs under API_LEAN_GET_PREFIXES (by default /api/market_data/).

The full path counts a trade in four buckets, each a round trip of its own: the per-address one (the client-IP
middleware), then, after the key is checked, the credential's and the trade route's per-address and
per-credential ones (DRF's throttles), and reads the memos' versions in a fifth. Here `rates_hit` counts all four
and reads the versions in one EVALSHA before the chain runs, the credential's buckets named by the key's prefix
as the key's own check names them; the chain then runs as on the lean path, and each check claims its bucket
instead of counting it again (throttling.Precounted). What no check claimed (a bad key, a missing scope, a refused
address: the check never ran) is taken back once the answer is known, so every bucket ends counted as the chain
alone counts it. Anything over a rate, the cache down, or a route that is not a DRF view: nothing is counted
ahead, and the chain counts and answers exactly as before (the same 429 bodies and headers).
"""

from collections.abc import Callable, Iterable
from typing import Any

from django.urls import Resolver404, ResolverMatch, resolve
from rest_framework.views import APIView

from tradingrobot.lean import LeanWSGIHandler, count_ahead
from tradingrobot.security.authentication import InvalidCredentials, key_from_headers
from tradingrobot.security.client_ip import client_ip
from tradingrobot.security.middleware import guarded_path
from tradingrobot.security.throttling import PRECOUNTED, Precounted
from tradingrobot.snapshot_cache import versions_pinned

MATCH = "tradingrobot.lean_post_match"  # environ key: the route resolved while counting, reused by the handler


class LeanByKeyHandler(LeanWSGIHandler):
    """The lean chain; the route resolved once (while counting ahead) instead of twice."""

    def resolve_request(self, request) -> ResolverMatch:
        match = request.environ.get(MATCH)
        if match is None or hasattr(request, "urlconf"):  # a middleware chose another urlconf: resolve in it
            return super().resolve_request(request)
        request.resolver_match = match
        return match


class LeanByKey:
    """A WSGI application for the requests `serves` says yes to (the caller sends the others elsewhere)."""

    def __init__(self, prefixes: Iterable[str], methods: Iterable[str]):
        self.prefixes = tuple(prefixes)
        self.methods = frozenset(methods)
        self.handler = LeanByKeyHandler()

    def serves(self, environ: dict) -> bool:
        """One of the methods under the prefixes, carrying one well-formed API key (no other credential is read
        here: a session or a token takes the full path)."""
        if environ.get("REQUEST_METHOD") not in self.methods or not environ.get("PATH_INFO", "").startswith(
            self.prefixes
        ):
            return False
        try:
            return key_from_headers(environ.get("HTTP_AUTHORIZATION"), environ.get("HTTP_X_API_KEY")) is not None
        except InvalidCredentials:  # refused by the full path, as before
            return False

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        ahead = self._count_ahead(environ)
        if ahead is None:
            with versions_pinned():
                return self.handler(environ, start_response)
        precounted, versions = ahead
        environ[PRECOUNTED] = precounted
        try:
            with versions_pinned(versions):
                return self.handler(environ, start_response)
        finally:
            precounted.release()

    def _count_ahead(self, environ: dict) -> tuple[Precounted, dict[str, Any]] | None:
        """Every cache-counted bucket of the request counted, and the memos' versions read, in one round trip;
        None (nothing counted) when one is over its rate, the cache is down, or the route is not a DRF view."""
        path = environ["PATH_INFO"]
        if not guarded_path(path):
            return None
        try:
            match = resolve(path)
        except Resolver404:
            return None
        environ[MATCH] = match
        view_class = getattr(match.func, "cls", None)
        if not (isinstance(view_class, type) and issubclass(view_class, APIView)):
            return None
        ip = client_ip(environ.get("REMOTE_ADDR"), environ.get("HTTP_X_FORWARDED_FOR"))
        plain = key_from_headers(environ.get("HTTP_AUTHORIZATION"), environ.get("HTTP_X_API_KEY"))
        counted = count_ahead(environ, path, match, plain or "", ip)
        if counted is None:
            return None
        return Precounted(counted.buckets, counted.hit), counted.hit.values
