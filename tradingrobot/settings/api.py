"""The REST framework and the OpenAPI schema."""

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
        "rest_framework.parsers.JSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
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
}
