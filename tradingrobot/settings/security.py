"""API keys and OAuth 2.0 (tradingrobot/security): scopes read, trade, admin; address rules, rates, CORS, the
WordPress Application Password, and HTTPS in production. See README "Security"."""

from urllib.parse import urlsplit

from corsheaders.defaults import default_headers

from .base import PRODUCTION, env
from .integration import WP_BASE_URL

TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)  # proxies in front that append X-Forwarded-For
API_IP_ALLOWLIST = env.list("API_IP_ALLOWLIST", default=[])  # CIDRs allowed on /api/, /o/ and /ws/; empty: all
THROTTLE_RATES = {
    "ip": env("THROTTLE_RATE_IP", default="600/min"),  # every guarded request, per client address
    "credential": env("THROTTLE_RATE_KEY", default="300/min"),  # per API key or OAuth client
    "trade": env("THROTTLE_RATE_TRADE", default="30/min"),  # trade-scope routes, per credential and per address
}
SECURITY_GUARDED_PREFIXES = ["/api/", "/o/"]
SECURITY_EXEMPT_PATHS = env.list("SECURITY_EXEMPT_PATHS", default=[r"^/api/health(/ready)?/?$"])
CORS_ALLOWED_ORIGINS = env.list(
    "CORS_ALLOWED_ORIGINS", default=["{0.scheme}://{0.netloc}".format(urlsplit(WP_BASE_URL))]
)
CORS_URLS_REGEX = r"^/api/.*$"
CORS_ALLOW_HEADERS = (*default_headers, "x-api-key", "idempotency-key")
CORS_EXPOSE_HEADERS = ["Retry-After"]
WS_ALLOWED_ORIGINS = env.list("WS_ALLOWED_ORIGINS", default=CORS_ALLOWED_ORIGINS)
OAUTH2_PROVIDER = {
    "SCOPES": {"read": "Read status, portfolio, market data, orders", "trade": "Trade", "admin": "Stop and resume"},
    "SCOPES_BACKEND_CLASS": "tradingrobot.security.oauth.ClientScopes",
    "ACCESS_TOKEN_EXPIRE_SECONDS": env.int("OAUTH_TOKEN_SECONDS", default=3600),
    # RFC 9700 (OAuth 2.0 Security BCP) throughout: only client credentials are used here.
    **{f"COMPLIANT_BCP_RFC9700_{rule}": True for rule in ("IMPLICIT_GRANT", "PASSWORD_GRANT", "PKCE_METHOD")},
    **{f"COMPLIANT_BCP_RFC9700_{rule}": True for rule in ("ACCESS_TOKEN_TRANSPORT", "AUTHZ_RESPONSE_ISS")},
    **{f"COMPLIANT_BCP_RFC9700_{rule}": True for rule in ("TOKEN_STORAGE", "REFRESH_TOKEN", "REDIRECT_URI_SCHEME")},
    "REFRESH_TOKEN_REUSE_PROTECTION": True,
    "ALLOWED_REDIRECT_URI_SCHEMES": ["https"],
}
OAUTH2_PROVIDER_APPLICATION_MODEL = "oauth2_provider.Application"
# Outbound: the WordPress Application Password; never logged (a logging filter redacts it), never in the admin.
WP_APP_USER = env("WP_APP_USER", default="")
WP_APP_PASSWORD = env("WP_APP_PASSWORD", default="")

# Production (PRODUCTION=1): HTTPS only behind a TLS-terminating proxy; `manage.py check --deploy` is clean.
if PRODUCTION:
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    SECURE_REDIRECT_EXEMPT = [r"^api/health(/ready)?/?$"]  # load balancer probes may speak plain HTTP
    if TRUSTED_PROXY_COUNT:
        SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True)
    SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=True)
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
