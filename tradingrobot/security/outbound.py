"""The WordPress Application Password, handed out only for URLs under the configured WP_BASE_URL."""

from urllib.parse import urlsplit

from django.conf import settings


def wordpress_auth(url: str) -> tuple[str, str] | None:
    """(user, password) for HTTP Basic when `url` is on the configured site and credentials are set, else None."""
    base = settings.WP_BASE_URL.rstrip("/") + "/"
    if not (settings.WP_APP_USER and settings.WP_APP_PASSWORD) or not url.startswith(base):
        return None
    return settings.WP_APP_USER, settings.WP_APP_PASSWORD


LOOPBACK_HOSTS = ("127.0.0.1", "::1", "localhost")


def wordpress_plain_http_refusal(url: str) -> str | None:
    """Why a write must not go to `url` (plain http:// to a host other than loopback, with DEBUG off and
    WP_ALLOW_HTTP unset: the Application Password would travel in clear), or None."""
    parts = urlsplit(url)
    if parts.scheme.lower() != "http" or settings.DEBUG or settings.WP_ALLOW_HTTP:
        return None
    if (parts.hostname or "") in LOOPBACK_HOSTS:
        return None
    return (
        f"WP_BASE_URL {parts.scheme}://{parts.netloc} is plain http://: the Application Password would travel in"
        " clear; use https:// (or set WP_ALLOW_HTTP=true for a private link)"
    )
