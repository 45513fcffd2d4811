"""Error codes added by the second security round (issue 13), plain constants to fold into the error catalogue."""

BODY_TOO_LARGE = "body_too_large"  # 413: the request body is over API_MAX_BODY_BYTES
JSON_TOO_DEEP = "json_too_deep"  # 400: the JSON body nests deeper than API_MAX_JSON_DEPTH
UNSUPPORTED_MEDIA_TYPE = "unsupported_media_type"  # 415: only JSON (and form fields) are read
CONFLICTING_QUANTITY = "conflicting_quantity"  # 400: qty and quantity both given, and different
INVALID_SYMBOL = "invalid_symbol"  # 400: a ticker that is not 1-10 letters, digits, '.' or '-'
WS_RATE_LIMITED = "ws_rate_limited"  # WebSocket: too many messages a second on one connection
WS_TOO_MANY_CONNECTIONS = "ws_too_many_connections"  # WebSocket: too many open connections for one credential
WS_TOO_MANY_SYMBOLS = "too_many_symbols"  # WebSocket: the subscription would exceed WS_MAX_SYMBOLS
NOT_READY = "not_ready"  # 503 from readiness (the public answer: no details)
