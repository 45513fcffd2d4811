"""A logging filter that removes secrets from every record: the WordPress Application Password (as written, without
its spaces, and inside a Basic auth header) and any API key or bearer token that lands in a message."""

import base64
import logging
import re

from django.conf import settings

MASK = "[redacted]"
_CREDENTIAL_HEADERS = re.compile(r"(?i)((?:api-key|bearer|basic)\s+|x-api-key[\"']?\s*[:=]\s*[\"']?)[\w.~+/=-]{8,}")


def _secrets() -> list[str]:
    user = getattr(settings, "WP_APP_USER", "") or ""
    password = getattr(settings, "WP_APP_PASSWORD", "") or ""
    if not password:
        return []
    found = {password, password.replace(" ", "")}
    for pw in list(found):
        found.add(base64.b64encode(f"{user}:{pw}".encode()).decode())
    return sorted((s for s in found if len(s) >= 4), key=len, reverse=True)


def redact(text: str) -> str:
    for secret in _secrets():
        text = text.replace(secret, MASK)
    return _CREDENTIAL_HEADERS.sub(lambda m: m.group(1) + MASK, text)


class RedactSecretsFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        return True
