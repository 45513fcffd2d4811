"""API keys and OAuth 2.0 (tradingrobot/security): scopes read, trade, admin; address rules, rates, CORS, the
WordPress Application Password, and HTTPS in production. See README "Security"."""

from urllib.parse import urlsplit

from corsheaders.defaults import default_headers
from django.conf import global_settings
from django.core.exceptions import ImproperlyConfigured

from tradingrobot.security.production import production_refusals

from .base import ALLOWED_HOSTS, DEBUG, PRODUCTION, SECRET_KEY, env
from .integration import WP_BASE_URL

TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)  # proxies in front that append X-Forwarded-For
API_IP_ALLOWLIST = env.list("API_IP_ALLOWLIST", default=[])  # CIDRs allowed on /api/, /o/ and /ws/; empty: all
THROTTLE_RATES = {
    "ip": env("THROTTLE_RATE_IP", default="600/min"),  # every guarded request, per client address
    "credential": env("THROTTLE_RATE_KEY", default="300/min"),  # per API key or OAuth client
    "trade": env("THROTTLE_RATE_TRADE", default="30/min"),  # trade-scope routes, per credential and per address
}
THROTTLE_RATE_TOKEN = env("THROTTLE_RATE_TOKEN", default="30/min")  # POST /o/token/, per client address
# /admin/ and /metrics get the API's allowlist and per-address limit; /o/token/ has a bucket of its own too.
SECURITY_GUARDED_PREFIXES = ["/api/", "/o/", "/admin/", "/metrics"]
SECURITY_EXEMPT_PATHS = env.list("SECURITY_EXEMPT_PATHS", default=[r"^/api/health(/ready)?/?$"])
CORS_ALLOWED_ORIGINS = env.list(
    "CORS_ALLOWED_ORIGINS", default=["{0.scheme}://{0.netloc}".format(urlsplit(WP_BASE_URL))]
)
CORS_URLS_REGEX = r"^/api/.*$"
CORS_ALLOW_HEADERS = (*default_headers, "x-api-key", "idempotency-key")
CORS_EXPOSE_HEADERS = ["Retry-After"]
WS_ALLOWED_ORIGINS = env.list("WS_ALLOWED_ORIGINS", default=CORS_ALLOWED_ORIGINS)
# ws /ws/updates: messages a second per connection, open connections per credential (a connection follows at most
# 100 symbols in all: trading/realtime/frames.py).
WS_MAX_MESSAGES_PER_SECOND = env.int("WS_MAX_MESSAGES_PER_SECOND", default=10)
WS_MAX_CONNECTIONS_PER_KEY = env.int("WS_MAX_CONNECTIONS_PER_KEY", default=20)  # per web process
# The API key memo (tradingrobot/security/keys.py): auto = only with a cache all processes share (Redis), so that a
# key revoked in one process never keeps working in another; on | off.
API_KEY_MEMO = env("API_KEY_MEMO", default="auto")
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
    # OAuth client secrets are 128 random characters: one salted SHA-256 round suffices (PBKDF2 costs ~0.45 s a call).
    "CLIENT_SECRET_HASHER": "client_secret_sha256",
}
OAUTH2_PROVIDER_APPLICATION_MODEL = "oauth2_provider.Application"
PASSWORD_HASHERS = [*global_settings.PASSWORD_HASHERS, "tradingrobot.security.hashers.ClientSecretHasher"]
# Admin login: django-axes locks an address and a username out after AXES_FAILURE_LIMIT failures.
AUTHENTICATION_BACKENDS = ["axes.backends.AxesStandaloneBackend", *global_settings.AUTHENTICATION_BACKENDS]
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = env.float("AXES_COOLOFF_HOURS", default=0.25)  # hours
AXES_LOCKOUT_PARAMETERS = ["ip_address", "username"]  # each on its own: one address, or one username
AXES_CLIENT_IP_CALLABLE = "tradingrobot.security.client_ip.axes_client_ip"  # TRUSTED_PROXY_COUNT, as everywhere
AXES_RESET_ON_SUCCESS = True
AXES_VERBOSE = False
# The admin's messages (the new API key is shown in one) stay in the session, not in a cookie.
MESSAGE_STORAGE = "django.contrib.messages.storage.session.SessionStorage"
# Outbound: the WordPress Application Password; never logged (a logging filter redacts it), never in the admin.
WP_APP_USER = env("WP_APP_USER", default="")
WP_APP_PASSWORD = env("WP_APP_PASSWORD", default="")
# Plain http:// to WordPress: production refuses to start with it, and with DEBUG off no push-back is sent over it to
# a host other than loopback, unless this says the link is private (tradingrobot/security/outbound.py).
WP_ALLOW_HTTP = env.bool("WP_ALLOW_HTTP", default=False)
# Alpaca market data (the `alpaca` fallback source): keys from the environment only.
ALPACA_API_KEY_ID = env("ALPACA_API_KEY_ID", default="")
ALPACA_API_SECRET_KEY = env("ALPACA_API_SECRET_KEY", default="")

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

# Production refuses to start with a weak SECRET_KEY, DEBUG on, or ALLOWED_HOSTS='*' (security/production.py).
# And with an http:// WP_BASE_URL unless WP_ALLOW_HTTP.
_refusals = production_refusals(
    secret_key=SECRET_KEY,
    debug=DEBUG,
    allowed_hosts=ALLOWED_HOSTS,
    wp_base_url=WP_BASE_URL,
    wp_allow_http=WP_ALLOW_HTTP,
)
if PRODUCTION and _refusals:
    raise ImproperlyConfigured("Production refuses to start: " + "; ".join(_refusals))
