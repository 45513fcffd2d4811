"""The lean WSGI path: the hottest reads (API_LEAN_PATHS, by default GET /api/status) skip the middleware that
does nothing for an API request authenticated by key or token. A plain success of theirs is answered before this
by the fast path (tradingrobot/fast_path.py); the lean handler answers the rest of their requests.

Skipped (LEAN_SKIPPED_MIDDLEWARE): static files (WhiteNoise), the session, CSRF (DRF's views are exempt and
the API takes no cookie), Django's user and messages, CommonMiddleware (an exact path: no slash to append),
X-Frame-Options (a JSON body is never framed) and axes (it acts on logins). Kept, in the same order: metrics,
the request id, the security headers, CORS, the client-IP allowlist and per-address rate limit, the audit; and
the view still runs DRF's authentication, scope permission and throttles. The memos' versions (API keys,
ledger) are read in one round trip at the start of every request (snapshot_cache.versions_pinned).
README "Benchmarks" shows what each middleware costs per request (bench/middleware_cost.py).
"""

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from django.conf import settings
from django.core.handlers.exception import convert_exception_to_response
from django.core.handlers.wsgi import WSGIHandler
from django.urls import ResolverMatch
from django.utils.module_loading import import_string

from tradingrobot.security.middleware import request_buckets
from tradingrobot.security.models import ApiKey
from tradingrobot.security.throttling import RatesHit, _CacheThrottle, rates_hit, rates_unhit
from tradingrobot.snapshot_cache import CACHE_DOWN, memo_version_keys

LEAN_SKIPPED_MIDDLEWARE = frozenset(
    {
        "whitenoise.middleware.WhiteNoiseMiddleware",
        "django.contrib.sessions.middleware.SessionMiddleware",
        "django.middleware.common.CommonMiddleware",
        "django.middleware.csrf.CsrfViewMiddleware",
        "django.contrib.auth.middleware.AuthenticationMiddleware",
        "django.contrib.messages.middleware.MessageMiddleware",
        "django.middleware.clickjacking.XFrameOptionsMiddleware",
        "axes.middleware.AxesMiddleware",
    }
)


def lean_middleware(middleware: Iterable[str], skipped: frozenset[str] = LEAN_SKIPPED_MIDDLEWARE) -> list[str]:
    return [path for path in middleware if path not in skipped]


class LeanWSGIHandler(WSGIHandler):
    """Django's WSGI handler over the lean middleware list (synchronous: one thread per web worker)."""

    skipped = LEAN_SKIPPED_MIDDLEWARE

    def load_middleware(self, is_async: bool = False) -> None:
        self._view_middleware: list[Callable] = []
        self._template_response_middleware: list[Callable] = []
        self._exception_middleware: list[Callable] = []
        handler = convert_exception_to_response(self._get_response)  # type: ignore[attr-defined]  # not in the stubs
        for path in reversed(lean_middleware(settings.MIDDLEWARE, self.skipped)):
            instance = import_string(path)(handler)
            if hasattr(instance, "process_view"):
                self._view_middleware.insert(0, instance.process_view)
            if hasattr(instance, "process_template_response"):
                self._template_response_middleware.append(instance.process_template_response)
            if hasattr(instance, "process_exception"):
                self._exception_middleware.append(instance.process_exception)
            handler = convert_exception_to_response(instance)
        self._middleware_chain = handler


class Probe:
    """What DRF's negotiation, authentication, permission and throttle classes read of a request."""

    def __init__(self, environ: dict, path: str, ip: str | None):
        self.META = environ
        self.method = environ["REQUEST_METHOD"]
        self.path = path
        self.query_params: dict[str, str] = {}  # the fast path takes no query string
        self.client_ip = ip
        self._request = self  # TradeRateThrottle reads the client IP from the Django request
        self.user: Any = None
        self.auth: Any = None
        self.accepted_renderer: Any = None
        self.accepted_media_type: str | None = None
        self.version: Any = None
        self.versioning_scheme: Any = None

    def name_credential(self, plain_key: str) -> None:
        """The request's credential as its key's prefix names it: its rate-limit id before the key is checked."""
        self.auth = _provisional(plain_key.partition(".")[0])

    def buckets(self, view: Any, throttles: Iterable[Any]) -> list[tuple[str, str]]:
        """Every cache-counted bucket of the request: the per-address ones (security.middleware), then each
        throttle's."""
        return request_buckets(self.path, self.client_ip) + [b for t in throttles for b in t.buckets(self, view)]


@dataclass(frozen=True)
class CountedAhead:
    """A request counted ahead in every cache-counted bucket, all within their rates (`count_ahead`)."""

    probe: Probe
    view: Any  # the route's APIView, not set up
    throttles: list[Any]  # its throttles that count in the cache
    buckets: list[tuple[str, str]]
    hit: RatesHit


def count_ahead(environ: dict, path: str, match: ResolverMatch, plain_key: str, ip: str | None) -> CountedAhead | None:
    """What the fast path and the lean POST do before the chain would count: the probe, named by the key's
    prefix as the key's own check names it; the route's view and its cache-counted throttles; every bucket
    counted and the memos' versions read in one round trip (throttling.rates_hit). None, nothing counted: a
    bucket the chain counts twice (a claim could not tell the two apart), the cache down, or a rate exceeded (the
    chain then counts again and refuses)."""
    probe = Probe(environ, path, ip)
    probe.name_credential(plain_key)
    as_view: Any = match.func  # APIView.as_view()'s function: its class and arguments
    view = as_view.cls(**as_view.initkwargs)
    throttles = [t for t in view.get_throttles() if isinstance(t, _CacheThrottle)]
    buckets = probe.buckets(view, throttles)
    if len(set(buckets)) != len(buckets):
        return None
    try:
        hit = rates_hit(buckets, read=memo_version_keys())
    except CACHE_DOWN:
        return None
    if hit.wait is not None:
        rates_unhit(hit)
        return None
    return CountedAhead(probe, view, throttles, buckets, hit)


@lru_cache(maxsize=1024)
def _provisional(prefix: str) -> ApiKey:
    """The credential named by a prefix (kept per prefix: a model instance costs two signals; never saved, never
    changed)."""
    return ApiKey(prefix=prefix)
