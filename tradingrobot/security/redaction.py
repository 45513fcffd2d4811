"""A logging filter that removes secrets from every record: the WordPress Application Password (as written, without
its spaces, URL-encoded, and inside a Basic auth header), any API key or bearer token that lands in a message (after
a header name, or bare in the key's own shape), the value of any JSON, dict or form field named like a secret
(`"password": ...`, `client_secret=...`), and the password in a URL's user info."""

import base64
import logging
import re
from urllib.parse import quote, quote_plus

from django.conf import settings

MASK = "[redacted]"
_CREDENTIAL_HEADERS = re.compile(r"(?i)((?:api-key|bearer|basic)\s+|x-api-key[\"']?\s*[:=]\s*[\"']?)[\w.~+/=-]{8,}")
_BARE_API_KEY = re.compile(r"(?<![A-Za-z0-9])[A-Za-z0-9]{8}\.[A-Za-z0-9]{32}(?![A-Za-z0-9])")  # prefix.secret
_SECRET_NAME = r"[\w-]*(?:api[_-]?key|password|passwd|secret|token|authorization)[\w-]*"  # noqa: S105 - a pattern of field names
_QUOTED_FIELD = re.compile(rf"(?i)([\"']{_SECRET_NAME}[\"']\s*:\s*)([\"'])((?:\\.|(?!\2).)*)\2")  # "k": "v"
_FORM_FIELD = re.compile(rf"(?i)(\b{_SECRET_NAME}=)([^&\s\"']+)")  # k=v in a query string or form body
# Alpaca: its key headers, and a key id's shape (PK... paper, AK... live); the configured secret itself below.
_APCA_HEADERS = re.compile(r"(?i)(apca-api-(?:key-id|secret-key)[\"']?\s*[:=]\s*[\"']?)[\w/+=-]{8,}")
_ALPACA_KEY_ID = re.compile(r"(?<![A-Za-z0-9])[PA]K[A-Z0-9]{18}(?![A-Za-z0-9])")
_URL_USERINFO = re.compile(r"(?i)(\b[a-z][a-z0-9+.-]*://[^/\s:@]+:)([^/\s@]+)(@)")  # scheme://user:password@


def _secrets() -> list[str]:
    user = getattr(settings, "WP_APP_USER", "") or ""
    password = getattr(settings, "WP_APP_PASSWORD", "") or ""
    found = {getattr(settings, name, "") or "" for name in ("ALPACA_API_KEY_ID", "ALPACA_API_SECRET_KEY")}
    if password:
        found |= {password, password.replace(" ", "")}
        for pw in (password, password.replace(" ", "")):
            found.add(base64.b64encode(f"{user}:{pw}".encode()).decode())
            found.update({quote(pw, safe=""), quote_plus(pw)})
    return sorted((s for s in found if len(s) >= 4), key=len, reverse=True)


def redact(text: str) -> str:
    for secret in _secrets():
        text = text.replace(secret, MASK)
    text = _CREDENTIAL_HEADERS.sub(lambda m: m.group(1) + MASK, text)
    text = _APCA_HEADERS.sub(lambda m: m.group(1) + MASK, text)
    text = _ALPACA_KEY_ID.sub(MASK, text)
    text = _QUOTED_FIELD.sub(lambda m: f"{m.group(1)}{m.group(2)}{MASK}{m.group(2)}", text)
    text = _FORM_FIELD.sub(lambda m: m.group(1) + MASK, text)
    text = _URL_USERINFO.sub(lambda m: m.group(1) + MASK + m.group(3), text)
    return _BARE_API_KEY.sub(MASK, text)


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
