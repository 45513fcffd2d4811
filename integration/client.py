"""The one WordPress client: every outbound call to TradingRobotPlug.com goes through `WordPressClient.get`.

- One pooled `requests.Session`; connect and read timeouts on every call.
- Retries by urllib3's `Retry` (bounded, exponential backoff + jitter) on connection errors, read timeouts,
  429 (honouring Retry-After, capped) and 5xx; never on other 4xx.
- A circuit breaker shared by all processes (`integration.breaker`).
- Good answers are cached (`WP_CACHE_TTL`); when the site is down the last good answer is returned marked
  stale with its age instead of an exception.
- Pretty permalinks (`/wp-json/...`) or `?rest_route=...`; `auto` falls back to the latter when the
  pretty URL answers with a non-JSON page, and remembers what worked.
"""

import hashlib
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import requests
from django.conf import settings
from django.core.cache import cache
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from tradingrobot.ops.metrics import wordpress_call
from tradingrobot.security.outbound import wordpress_auth, wordpress_plain_http_refusal

from .breaker import CircuitBreaker
from .transform import FetchFailed, body_decode

logger = logging.getLogger(__name__)

NAMESPACE = "/tradingrobotplug/v1"
RETRY_STATUSES = frozenset([429, *range(500, 600)])
POST_OK = frozenset([200, 201])  # the receiver stored the record (201 new, 200 the same record again)


class _CappedRetry(Retry):
    """urllib3's Retry, with a ceiling on how long a Retry-After may make us wait."""

    cap_seconds: float = 120.0

    def get_retry_after(self, response):
        value = super().get_retry_after(response)
        return None if value is None else min(value, self.cap_seconds)


def session_build() -> requests.Session:
    retry = _CappedRetry(
        total=settings.WP_RETRIES,
        connect=settings.WP_RETRIES,
        read=settings.WP_RETRIES,
        status=settings.WP_RETRIES,
        other=0,
        allowed_methods=frozenset(["GET", "HEAD"]),
        status_forcelist=RETRY_STATUSES,
        backoff_factor=settings.WP_BACKOFF_SECONDS / 2,  # urllib3 sleeps factor * 2**(n-1): 1 s, 2 s, 4 s...
        backoff_max=settings.WP_BACKOFF_MAX_SECONDS,
        backoff_jitter=settings.WP_BACKOFF_JITTER_SECONDS,
        respect_retry_after_header=True,
        raise_on_status=False,  # the last 5xx comes back as a response: we read its body for the reason
    )
    retry.cap_seconds = settings.WP_RETRY_AFTER_MAX_SECONDS
    session = requests.Session()
    adapter = HTTPAdapter(max_retries=retry, pool_connections=4, pool_maxsize=8)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    session.headers.update({"Accept": "application/json", "User-Agent": "TradingRobot/1.0 (+ingestion)"})
    return session


_sessions: dict[int, requests.Session] = {}


def _shared_session() -> requests.Session:
    """One pooled session per process (keyed on the settings that shape it, so tests may change them)."""
    key = hash((settings.WP_RETRIES, settings.WP_BACKOFF_SECONDS, settings.WP_BACKOFF_JITTER_SECONDS))
    session = _sessions.get(key)
    if session is None:
        session = _sessions[key] = session_build()
    return session


@dataclass(frozen=True)
class WPResponse:
    """What a call gives back. `data` is None only when the call failed and no earlier good answer exists."""

    data: Any
    fetched_at: float | None  # epoch seconds of the good answer `data` comes from
    stale: bool = False
    from_cache: bool = False
    error: FetchFailed | None = None

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def age_seconds(self) -> float | None:
        return None if self.fetched_at is None else round(time.time() - self.fetched_at, 3)


class WordPressClient:
    def __init__(self, base_url: str | None = None, *, session: requests.Session | None = None):
        self.base_url = (base_url or settings.WP_BASE_URL).rstrip("/")
        self.session = session or _shared_session()
        site = hashlib.sha1(self.base_url.encode(), usedforsecurity=False).hexdigest()[:12]
        self.key_prefix = f"{settings.WP_CACHE_PREFIX}:{site}"
        self.breaker = CircuitBreaker(
            self.key_prefix, failures=settings.WP_BREAKER_FAILURES, reset_seconds=settings.WP_BREAKER_RESET_SECONDS
        )

    # --- the routes ------------------------------------------------------------------------------------
    def stock_data(self, *, max_age: float | None = 0) -> WPResponse:
        return self.get(f"{NAMESPACE}/stock-data", max_age=max_age, shape="stock_data")

    def stock_history(
        self, symbol: str, *, start_date: str, end_date: str, max_age: float | None = 0, store: bool = True
    ) -> WPResponse:
        """History of one symbol. `store=False` for a backfill: its windows are not worth caching."""
        params = {"start_date": start_date, "end_date": end_date}
        return self.get(f"{NAMESPACE}/stock-data/{symbol}", params=params, max_age=max_age, shape="data", store=store)

    def strategies(self, *, max_age: float | None = None) -> WPResponse:
        return self.get(f"{NAMESPACE}/strategies", max_age=max_age, shape="strategies")

    def index(self, *, max_age: float | None = None) -> WPResponse:
        """The REST index `/wp-json/` (name, timezone_string, gmt_offset...)."""
        return self.get("/", max_age=max_age, shape=_is_object)

    # --- the call --------------------------------------------------------------------------------------
    def get(
        self,
        route: str,
        *,
        params: dict | None = None,
        max_age: float | None = None,
        shape: str | Callable[[Any], None] | None = None,
        store: bool = True,
    ) -> WPResponse:
        """GET a REST route. `max_age`: serve a cached good answer younger than this (None: WP_CACHE_TTL;
        0: always ask the site). `shape`: a key the JSON object must have, or a checker raising FetchFailed.
        `store`: keep the good answer for later calls and for outages."""
        key = self._cache_key(route, params)
        ttl = settings.WP_CACHE_TTL if max_age is None else max_age
        cached = cache.get(key) if store else None
        if cached is not None and ttl > 0 and time.time() - cached["fetched_at"] <= ttl:
            return WPResponse(cached["data"], cached["fetched_at"], from_cache=True)

        if not self.breaker.allow():
            state = self.breaker.state()
            error = FetchFailed(
                "circuit_open", f"{self.base_url} failed repeatedly; next try in {state.retry_in:.0f} s", site_down=True
            )
            return self._fallback(cached, error)
        try:
            data = self._fetch(route, params)
            _check_shape(data, shape)
        except FetchFailed as error:
            if error.site_down:
                self.breaker.record_failure()
            else:
                self.breaker.record_success()  # the site answered, coherently, with a refusal
            logger.warning("WordPress %s failed: %s %s", route, error.code, error.message)
            return self._fallback(cached, error)
        self.breaker.record_success()
        fetched_at = time.time()
        if store:
            cache.set(key, {"data": data, "fetched_at": fetched_at}, timeout=settings.WP_STALE_KEEP_SECONDS)
        return WPResponse(data, fetched_at)

    def post(self, route: str, body: dict) -> Any:
        """POST a JSON document to a REST route with the Application Password; the decoded answer of a 200 or
        201, or FetchFailed. Redirects are not followed (requests would turn a POST after a 301/302 into a GET,
        whose 200 says nothing was stored): a 3xx is a failure naming its Location. Not retried here: the outbox
        retries with backoff, and the routes are idempotent."""
        if not self.breaker.allow():
            state = self.breaker.state()
            raise FetchFailed(
                "circuit_open", f"{self.base_url} failed repeatedly; next try in {state.retry_in:.0f} s", site_down=True
            )
        url, query = self._url(route, None, "query" if self._style() == "query" else "pretty")
        refusal = wordpress_plain_http_refusal(url)
        if refusal:
            raise FetchFailed("insecure_url", refusal)
        try:
            with wordpress_call("post"):
                data = self._send(
                    "post", url, query, json=body, auth=wordpress_auth(url), allow_redirects=False, accept=POST_OK
                )
        except FetchFailed as error:
            (self.breaker.record_failure if error.site_down else self.breaker.record_success)()
            raise
        self.breaker.record_success()
        return data

    def _fallback(self, cached: dict | None, error: FetchFailed) -> WPResponse:
        if cached is not None and error.site_down:
            return WPResponse(cached["data"], cached["fetched_at"], stale=True, from_cache=True, error=error)
        return WPResponse(None, None, error=error)

    def _cache_key(self, route: str, params: dict | None) -> str:
        query = json.dumps(params or {}, sort_keys=True)
        digest = hashlib.sha1(f"{route}?{query}".encode(), usedforsecurity=False).hexdigest()
        return f"{self.key_prefix}:answer:{digest}"

    def _style(self) -> str:
        if settings.WP_REST_STYLE in ("pretty", "query"):
            return settings.WP_REST_STYLE
        return cache.get(f"{self.key_prefix}:style") or "auto"

    def _url(self, route: str, params: dict | None, style: str) -> tuple[str, dict]:
        if style == "query":
            return f"{self.base_url}/", {"rest_route": route, **(params or {})}
        return f"{self.base_url}/wp-json{route}", dict(params or {})

    def _fetch(self, route: str, params: dict | None) -> Any:
        style = self._style()
        try:
            return self._request(route, params, "query" if style == "query" else "pretty")
        except FetchFailed as error:
            # A WordPress without pretty permalinks answers /wp-json/... with its HTML 404 (or front) page.
            if style != "auto" or error.code != "non_json" or (error.status or 0) >= 500:
                raise
            data = self._request(route, params, "query")
            cache.set(f"{self.key_prefix}:style", "query", timeout=24 * 3600)
            logger.info("%s has no pretty permalinks: using ?rest_route=", self.base_url)
            return data

    def _request(self, route: str, params: dict | None, style: str) -> Any:
        url, query = self._url(route, params, style)
        with wordpress_call("get"):
            return self._send("get", url, query)

    def _send(self, method: str, url: str, query: dict, *, accept: frozenset[int] | None = None, **kwargs) -> Any:
        try:
            response = self.session.request(
                method, url, params=query, timeout=(settings.WP_CONNECT_TIMEOUT, settings.WP_READ_TIMEOUT), **kwargs
            )
        except requests.exceptions.ConnectTimeout as exc:
            raise FetchFailed("connect_timeout", _reason(exc), site_down=True) from None
        except requests.exceptions.ReadTimeout as exc:
            raise FetchFailed("read_timeout", _reason(exc), site_down=True) from None
        except requests.exceptions.RetryError as exc:  # e.g. 429 after every retry
            raise FetchFailed("too_many_retries", _reason(exc), site_down=True) from None
        except requests.exceptions.ConnectionError as exc:
            code = "read_timeout" if "Read timed out" in str(exc) else "connection_error"
            raise FetchFailed(code, _reason(exc), site_down=True) from None
        except requests.exceptions.RequestException as exc:
            raise FetchFailed("request_error", _reason(exc), site_down=True) from None
        status = response.status_code
        if status == 429:
            raise FetchFailed("rate_limited", "HTTP 429 after retries", status=429, site_down=True)
        if 300 <= status < 400:
            location = response.headers.get("Location") or "(no Location header)"
            raise FetchFailed(
                "redirected",
                f"HTTP {status} to {location[:200]}: not followed ({method.upper()} {url}); set WP_BASE_URL to the"
                " address the site answers at",
                status=status,
            )
        if accept is not None and status < 400 and status not in accept:
            raise FetchFailed(
                "not_acknowledged", f"HTTP {status}: only {'/'.join(map(str, sorted(accept)))} say stored"
            )
        return body_decode(status=status, content=response.content)


def _reason(exc: Exception) -> str:
    text = str(exc)
    return text if len(text) <= 300 else text[:297] + "..."


def _check_shape(data: Any, shape: str | Callable[[Any], None] | None) -> None:
    if shape is None:
        return
    if callable(shape):
        shape(data)
        return
    if not isinstance(data, dict) or shape not in data:
        got = type(data).__name__ if not isinstance(data, dict) else f"keys {sorted(data)[:8]}"
        raise FetchFailed("bad_shape", f"expected an object with '{shape}', got {got}")


def _is_object(data: Any) -> None:
    if not isinstance(data, dict):
        raise FetchFailed("bad_shape", f"expected a JSON object, got {type(data).__name__}")
