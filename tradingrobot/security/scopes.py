"""The three API scopes. They are independent: `admin` does not imply `trade`, `trade` does not imply `read`."""

READ = "read"
TRADE = "trade"
ADMIN = "admin"
ALL = (READ, TRADE, ADMIN)
DESCRIPTIONS = {
    READ: "Read status, portfolio, market data and orders",
    TRADE: "Place and cancel orders",
    ADMIN: "Stop and resume trading",
}


def required_scope(view, method: str) -> str:
    """The scope a view needs for an HTTP method: `required_scope = "trade"` or `{"GET": "read", "DELETE": "trade"}`.
    A view that names none needs `admin` (fail closed)."""
    declared = getattr(view, "required_scope", ADMIN)
    if isinstance(declared, str):
        return declared
    method = "GET" if method in ("HEAD", "OPTIONS") and method not in declared else method
    return declared.get(method, ADMIN)
