"""The WordPress Application Password, handed out only for URLs under the configured WP_BASE_URL."""

from django.conf import settings


def wordpress_auth(url: str) -> tuple[str, str] | None:
    """(user, password) for HTTP Basic when `url` is on the configured site and credentials are set, else None."""
    base = settings.WP_BASE_URL.rstrip("/") + "/"
    if not (settings.WP_APP_USER and settings.WP_APP_PASSWORD) or not url.startswith(base):
        return None
    return settings.WP_APP_USER, settings.WP_APP_PASSWORD
