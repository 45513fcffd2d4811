"""Every error code a client can see, in one place: API bodies, WebSocket frames and closes, rejected orders.

A code is a member here or it does not exist: domain errors, the exception handler and the WebSocket refusals
take an `ErrorCode`, never a string, and the test suite fails on any response carrying a value not listed.
`python manage.py error_codes --markdown` prints the README's table from this module.
"""

import enum
from http import HTTPStatus


class Surface(enum.StrEnum):
    API = "API"
    WS = "WebSocket"
    ORDER = "rejected order"
    ADMIN = "admin, commands"


API = (Surface.API,)
WS = (Surface.WS,)
API_WS = (Surface.API, Surface.WS)
ORDER = (Surface.ORDER, Surface.API)


class ErrorCode(enum.StrEnum):
    """`value` is the wire value; `status` the HTTP status it is answered with (for a WebSocket-only code, the
    status of the same fault over HTTP); `meaning` one line for the README."""

    status: HTTPStatus
    meaning: str
    surfaces: tuple[Surface, ...]

    def __new__(cls, value: str, status: int, meaning: str, surfaces: tuple[Surface, ...] = API) -> "ErrorCode":
        member = str.__new__(cls, value)
        member._value_ = value
        member.status = HTTPStatus(status)
        member.meaning = meaning
        member.surfaces = surfaces
        return member

    # --- any request ---
    BAD_REQUEST = "bad_request", 400, "The request could not be read (e.g. a Host header not in ALLOWED_HOSTS)."
    MALFORMED_REQUEST = "malformed_request", 400, "The body is not valid JSON (or form data)."
    INVALID_BODY = "invalid_body", 400, 'The JSON body is not an object, like {"quantity": 10}.'
    INVALID_INPUT = "invalid_input", 400, "A value is not acceptable; the message names it."
    INVALID = "invalid", 400, "A field has the wrong type; `errors` names the field."
    MAX_LENGTH = "max_length", 400, "A field is too long; `errors` names the field."
    REQUIRED = "required", 400, "A required field is missing; `errors` names the field."
    JSON_TOO_DEEP = "json_too_deep", 400, "The JSON body nests deeper than API_MAX_JSON_DEPTH."
    NUL_CHARACTER = "nul_character", 400, "A NUL byte (%00) in the path or a query value."
    MAX_DIGITS = "max_digits", 400, "A number has too many digits; `errors` names the field."
    MAX_WHOLE_DIGITS = "max_whole_digits", 400, "A number has too many digits before the point; `errors` names it."
    MAX_VALUE = "max_value", 400, "A number is above its maximum; `errors` names the field."
    MIN_VALUE = "min_value", 400, "A number is below its minimum; `errors` names the field."
    INVALID_CHOICE = "invalid_choice", 400, "A field is not one of its choices; `errors` names the field and them."
    NOT_A_DICT = "not_a_dict", 400, "A field must be a JSON object; `errors` names the field."
    NULL_CHARACTERS_NOT_ALLOWED = "null_characters_not_allowed", 400, "A field contains a NUL character."
    SURROGATE_CHARACTERS_NOT_ALLOWED = "surrogate_characters_not_allowed", 400, "A field contains a lone surrogate."
    NOT_FOUND = "not_found", 404, "No route (or object) matches the method and path."
    METHOD_NOT_ALLOWED = "method_not_allowed", 405, "The route exists but not for this method; the message names it."
    NOT_ACCEPTABLE = "not_acceptable", 406, "The Accept header asks for something other than JSON."
    CONFLICT = "conflict", 409, "The request conflicts with the current state."
    BODY_TOO_LARGE = "body_too_large", 413, "The request body is over API_MAX_BODY_BYTES."
    UNSUPPORTED_MEDIA_TYPE = "unsupported_media_type", 415, "The Content-Type is not JSON or form data."
    UNPROCESSABLE = "unprocessable", 422, "Well-formed, but a rule refuses it."
    THROTTLED = "throttled", 429, "Too many requests; retry after Retry-After seconds.", API_WS
    ERROR = "error", 500, "An API error without a more specific code."
    SERVER_ERROR = "server_error", 500, "Unexpected failure; it has been logged."

    # --- credentials (security) ---
    NOT_AUTHENTICATED = "not_authenticated", 401, "No credential sent: send an API key or a bearer token.", API_WS
    INVALID_CREDENTIALS = "invalid_credentials", 401, "The credential headers are malformed or disagree.", API_WS
    AUTHENTICATION_FAILED = "authentication_failed", 401, "The credential was refused."
    INVALID_API_KEY = "invalid_api_key", 401, "Unknown API key.", API_WS
    REVOKED_API_KEY = "revoked_api_key", 401, "The API key has been revoked.", API_WS
    EXPIRED_API_KEY = "expired_api_key", 401, "The API key has expired.", API_WS
    INVALID_TICKET = "invalid_ticket", 401, "Unknown, expired or used WebSocket ticket, or its credential ended.", WS
    CREDENTIALS_REVOKED = "credentials_revoked", 401, "An open connection's credential was revoked or expired.", WS
    PERMISSION_DENIED = "permission_denied", 403, "Not allowed (Django's 403, e.g. a failed CSRF check)."
    MISSING_SCOPE = "missing_scope", 403, "The credential lacks the scope (read, trade, admin) needed.", API_WS
    IP_NOT_ALLOWED = "ip_not_allowed", 403, "The client address is outside API_IP_ALLOWLIST.", API_WS
    ORIGIN_NOT_ALLOWED = "origin_not_allowed", 403, "A browser origin outside WS_ALLOWED_ORIGINS (handshake).", WS
    METRICS_FORBIDDEN = (
        "metrics_forbidden",
        403,
        "/metrics without METRICS_TOKEN or an allowed address (401 with a token set).",
    )
    INVALID_SCOPE = "invalid_scope", 400, "A new API key names no scope or an unknown one.", (Surface.ADMIN,)
    INVALID_NAME = "invalid_name", 400, "A new API key's name is empty or longer than 50 characters.", (Surface.ADMIN,)
    INVALID_EXPIRY = "invalid_expiry", 400, "A new API key's expiry is not in the future.", (Surface.ADMIN,)

    # --- query strings ---
    INVALID_AFTER = "invalid_after", 400, "`after` is not an ISO 8601 time."
    INVALID_UNTIL = "invalid_until", 400, "`until` is not an ISO 8601 time."
    INVALID_START = "invalid_start", 400, "`start` is not an ISO 8601 time."
    INVALID_END = "invalid_end", 400, "`end` is not an ISO 8601 time."
    INVALID_RANGE = "invalid_range", 400, "`start` is not before `end`."
    INVALID_LIMIT = "invalid_limit", 400, "`limit` is not a whole number in the allowed range."
    INVALID_OFFSET = "invalid_offset", 400, "`offset` is not a whole number in the allowed range."
    INVALID_TIMEFRAME = "invalid_timeframe", 400, "`timeframe` is not one of 1Min, 5Min, 15Min, 1Hour, 1Day."
    INVALID_SYMBOL = "invalid_symbol", 400, "A ticker (in the path or `symbol`) that is not 1 to 10 letters."
    INVALID_STATUS = "invalid_status", 400, "`status` is not open, closed, all or an order status."

    # --- market data and performance ---
    UNKNOWN_SYMBOL = "unknown_symbol", 404, "The symbol is not one the robot knows."
    SYMBOL_INACTIVE = "symbol_inactive", 400, "The symbol is known but not tradable."
    UNKNOWN_STRATEGY = "unknown_strategy", 404, "No trades for this strategy_id."

    # --- placing an order: input (nothing is stored) ---
    INVALID_SIDE = "invalid_side", 400, "The side is not buy or sell."
    MISSING_QUANTITY = "missing_quantity", 400, "No quantity in the body or the query string."
    INVALID_QUANTITY = "invalid_quantity", 400, "The quantity is not a positive number within the limits."
    INVALID_TYPE = "invalid_type", 400, "The order type is not market or limit."
    MISSING_LIMIT_PRICE = "missing_limit_price", 400, "A limit order without limit_price."
    INVALID_LIMIT_PRICE = "invalid_limit_price", 400, "limit_price is not a positive price, or sent without type=limit."
    INVALID_TIME_IN_FORCE = "invalid_time_in_force", 400, "time_in_force is not day or gtc."
    INVALID_CLIENT_ORDER_ID = "invalid_client_order_id", 400, "client_order_id is not printable or too long."
    INVALID_STRATEGY_ID = "invalid_strategy_id", 400, "strategy_id is not 1-64 of A-Za-z0-9_.:- (the receiver's rule)."
    CONFLICTING_QUANTITY = "conflicting_quantity", 400, "quantity differs between body and query, or from qty."
    CONFLICTING_TYPE = "conflicting_type", 400, "type differs between the body and the query string."
    CONFLICTING_LIMIT_PRICE = "conflicting_limit_price", 400, "limit_price differs between body and query string."
    CONFLICTING_TIME_IN_FORCE = "conflicting_time_in_force", 400, "time_in_force differs between body and query."
    CONFLICTING_CLIENT_ORDER_ID = (
        "conflicting_client_order_id",
        400,
        "client_order_id differs between body, query and Idempotency-Key.",
    )
    CONFLICTING_STRATEGY_ID = "conflicting_strategy_id", 400, "strategy_id differs between body and query string."
    IDEMPOTENCY_KEY_IN_PROGRESS = "idempotency_key_in_progress", 409, "The same key's first request still runs."
    IDEMPOTENCY_KEY_REUSED = "idempotency_key_reused", 422, "The key was already used for a different order."
    TRADING_HALTED = "trading_halted", 423, "Trading is halted; POST /api/resume_trading to resume."

    # --- placing an order: rules (the order is stored as rejected with this code) ---
    NO_PRICE = "no_price", 422, "A market order for a symbol with no stored price.", ORDER
    STALE_PRICE = "stale_price", 422, "A market order while the latest price is older than allowed.", ORDER
    RISK_LIMIT = "risk_limit", 422, "The order value exceeds MAX_ORDER_NOTIONAL.", ORDER
    INSUFFICIENT_CASH = "insufficient_cash", 422, "Not enough cash left for the order and its commission.", ORDER
    INSUFFICIENT_POSITION = "insufficient_position", 422, "Selling more than is held and not already being sold.", ORDER
    BROKER_REJECTED = (
        "broker_rejected",
        422,
        "The remote broker (Alpaca) refused the order; the reason is its own.",
        ORDER,
    )
    BROKER_UNAVAILABLE = "broker_unavailable", 503, "The remote broker (Alpaca) could not be reached; try again."

    # --- other order operations ---
    ORDER_NOT_FOUND = "order_not_found", 404, "No order with this id."
    ORDER_NOT_CANCELABLE = "order_not_cancelable", 409, "The order is already filled, canceled, expired or rejected."
    ORDER_NOT_YOURS = (
        "order_not_yours",
        403,
        "Another credential's order, or a liquidation or admin order: canceling it needs the admin scope.",
        (Surface.API, Surface.ADMIN),
    )
    CONFLICTING_REASON = "conflicting_reason", 400, "reason differs between the body and the query string."
    CONFLICTING_LIQUIDATE = "conflicting_liquidate", 400, "liquidate differs between the body and the query string."

    # --- strategies (trading/strategies) ---
    UNKNOWN_STRATEGY_KIND = "unknown_strategy_kind", 400, "A strategy kind not in STRATEGY_KINDS."
    INVALID_STRATEGY_PARAMS = "invalid_strategy_params", 400, "Strategy parameters out of bounds; `errors` names each."
    INVALID_STRATEGY = "invalid_strategy", 400, "A strategy field is not acceptable; `errors` names each."
    STRATEGY_NOT_FOUND = "strategy_not_found", 404, "No strategy with this strategy_id."
    STRATEGY_EXISTS = "strategy_exists", 409, "A strategy with this strategy_id already exists."
    NO_CLOSED_BAR = "no_closed_bar", 422, "The strategy's symbol has no closed bar of its timeframe yet."
    INVALID_ENABLED = "invalid_enabled", 400, "`enabled` is not true or false."
    INVALID_OUTCOME = "invalid_outcome", 400, "`outcome` is not buy, sell, hold, skip or error."

    # --- backtests (trading/backtest) ---
    INVALID_BACKTEST = "invalid_backtest", 400, "A backtest input is not acceptable; the message says which."
    BACKTEST_NO_DATA = "backtest_no_data", 400, "No bars for the symbols, timeframe and date range asked."
    GRID_TOO_LARGE = "grid_too_large", 400, "A parameter grid with more combinations than BACKTEST_MAX_COMBINATIONS."
    UNKNOWN_BACKTEST_STRATEGY = "unknown_backtest_strategy", 400, "--strategy / strategy_id names no Strategy row."
    BACKTEST_NOT_FOUND = "backtest_not_found", 404, "No backtest run with this id."
    BACKTEST_NOT_DONE = "backtest_not_done", 409, "The run has no report: it is queued, running or failed."

    # --- operations ---
    NOT_READY = "not_ready", 503, "/api/health/ready: a check fails; `failing` names it."
    TICKETS_UNAVAILABLE = (
        "tickets_unavailable",
        503,
        "POST /api/ws-ticket while the cache (Redis) is unreachable; connect with the key header meanwhile.",
    )

    # --- WebSocket closes (an error frame, then close 4429) ---
    WS_RATE_LIMITED = "ws_rate_limited", 429, "More than WS_MAX_MESSAGES_PER_SECOND messages a second.", WS
    WS_TOO_MANY_CONNECTIONS = (
        "ws_too_many_connections",
        429,
        "The credential already has WS_MAX_CONNECTIONS_PER_KEY open connections (per web process).",
        WS,
    )

    # --- WebSocket frames (the connection stays open) ---
    STATUS_UNAVAILABLE = "status_unavailable", 503, "The snapshot could not be computed; the next tick brings it.", WS
    BINARY_NOT_SUPPORTED = "binary_not_supported", 400, "A binary frame; send JSON text.", WS
    MESSAGE_TOO_LARGE = "message_too_large", 400, "A client message over 4,096 characters.", WS
    INVALID_JSON = "invalid_json", 400, "A client message that is not JSON.", WS
    INVALID_MESSAGE = "invalid_message", 400, "A client message that is not a JSON object.", WS
    UNKNOWN_ACTION = "unknown_action", 400, "action is not subscribe, unsubscribe or ping.", WS
    INVALID_ID = "invalid_id", 400, "id is neither a string nor an integer.", WS
    NOTHING_TO_CHANGE = "nothing_to_change", 400, "subscribe/unsubscribe without topics or symbols.", WS
    INVALID_TOPICS = "invalid_topics", 400, "topics is not a list of strings.", WS
    UNKNOWN_TOPIC = "unknown_topic", 400, "A topic other than status, orders, prices, strategies.", WS
    INVALID_SYMBOLS = "invalid_symbols", 400, "symbols is not a list of at most 100 tickers.", WS
    TOO_MANY_SYMBOLS = "too_many_symbols", 400, "The subscription would follow more than 100 symbols.", WS
    NOT_SUBSCRIBED_TO_SYMBOLS = (
        "not_subscribed_to_symbols",
        400,
        "unsubscribe from symbols while getting all (subscribe instead).",
        WS,
    )


_BY_VALUE: dict[str, ErrorCode] = {code.value: code for code in ErrorCode}


def error_code_of(value: str) -> ErrorCode:
    """The member for a wire value read back (a stored `reject_code`, DRF's `default_code`); KeyError if none."""
    return _BY_VALUE[value]


def error_code(code: ErrorCode) -> ErrorCode:
    """`code` itself; a TypeError for anything else (a plain string would be a new, unlisted public code)."""
    if not isinstance(code, ErrorCode):
        raise TypeError(f"an error code must be an ErrorCode member, got {code!r}")
    return code


class WsClose(enum.IntEnum):
    """Close codes of `ws /ws/updates` besides the normal ones (1000, 1001); refusals are 4000 + HTTP status."""

    meaning: str

    def __new__(cls, value: int, meaning: str) -> "WsClose":
        member = int.__new__(cls, value)
        member._value_ = value
        member.meaning = meaning
        return member

    TRY_AGAIN_LATER = 1013, "The client fell too far behind; reconnect for a fresh snapshot."
    UNAUTHENTICATED = 4401, "No, bad, revoked or expired credential (an error frame says which)."
    FORBIDDEN = 4403, "The credential lacks the read scope, or the consumer refused the connection."
    THROTTLED = (
        4429,
        "Too many connection attempts from this address, open connections of one credential, or messages a second.",
    )


MARKDOWN_BEGIN = "<!-- error-codes: made by `python manage.py error_codes --write README.md` from error_codes.py -->"
MARKDOWN_END = "<!-- /error-codes -->"


def error_codes_markdown() -> str:
    """The README's tables: every ErrorCode, then every WsClose, in catalogue order."""

    def cell(text: str) -> str:
        return text.replace("|", "\\|")

    lines = ["| code | HTTP | where | meaning |", "| --- | --- | --- | --- |"]
    for code in ErrorCode:
        where = ", ".join(code.surfaces)
        lines.append(f"| `{code.value}` | {code.status.value} | {where} | {cell(code.meaning)} |")
    lines += ["", "| WebSocket close code | meaning |", "| --- | --- |"]
    lines += [f"| {close.value} | {cell(close.meaning)} |" for close in WsClose]
    return "\n".join(lines) + "\n"


def markdown_section_replace(text: str) -> str:
    """`text` (the README) with the part between the markers replaced by the current tables."""
    begin, end = text.index(MARKDOWN_BEGIN) + len(MARKDOWN_BEGIN), text.index(MARKDOWN_END)
    return text[:begin] + "\n" + error_codes_markdown() + text[end:]
