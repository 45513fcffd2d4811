"""The REST framework and the OpenAPI schema."""

from .base import env

# Request bodies: JSON only (no route takes files), at most API_MAX_BODY_BYTES and API_MAX_JSON_DEPTH levels deep.
API_MAX_BODY_BYTES = env.int("API_MAX_BODY_BYTES", default=65536)
API_MAX_JSON_DEPTH = env.int("API_MAX_JSON_DEPTH", default=32)
# Paths whose GET/HEAD take the fast path (tradingrobot/fast_path.py), else the lean middleware list
# (tradingrobot/lean.py); empty: none.
API_LEAN_PATHS = env.list("API_LEAN_PATHS", default=["/api/status"])
# POSTs by API key under these prefixes take the lean middleware list with their rate counts taken in one round
# trip (tradingrobot/lean_post.py); empty: none.
API_LEAN_POST_PREFIXES = env.list("API_LEAN_POST_PREFIXES", default=["/api/trade/"])
# GET/HEADs by API key under these prefixes: the same (tradingrobot/lean_post.py); empty: none.
API_LEAN_GET_PREFIXES = env.list("API_LEAN_GET_PREFIXES", default=["/api/market_data/"])

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "tradingrobot.security.authentication.ApiKeyAuthentication",
        "tradingrobot.security.authentication.ScopedOAuth2Authentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["tradingrobot.security.permissions.HasScope"],
    "DEFAULT_THROTTLE_CLASSES": [
        "tradingrobot.security.throttling.CredentialRateThrottle",
        "tradingrobot.security.throttling.TradeRateThrottle",
    ],
    "UNAUTHENTICATED_USER": None,
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": [
        "tradingrobot.security.parsers.BoundedJSONParser",
        "tradingrobot.security.parsers.BoundedFormParser",
    ],
    "TEST_REQUEST_DEFAULT_FORMAT": "json",  # DRF's test client sent multipart by default
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "tradingrobot.errors.api_exception_handler",
    "COERCE_DECIMAL_TO_STRING": False,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Trading Robot API",
    "DESCRIPTION": "Trading engine behind TradingRobotPlug.com: status, portfolio, market data, orders.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "tradingrobot.security.schema.add_security_answers",
    ],
    # Swagger UI and ReDoc from this server (drf-spectacular-sidecar), no CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}
