from django.contrib import admin
from django.urls import include, path, re_path
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.views import SpectacularSwaggerView
from oauth2_provider.views import RevokeTokenView, TokenView
from rest_framework.permissions import AllowAny

from market.apis import MarketDataApi
from trading.alpaca_apis import (
    V2AccountApi,
    V2AssetDetailApi,
    V2AssetListApi,
    V2ClockApi,
    V2OrderByClientIdApi,
    V2OrderDetailApi,
    V2OrderListApi,
    V2PositionDetailApi,
    V2PositionListApi,
)
from trading.apis import (
    OrderDetailApi,
    OrderListApi,
    PerformanceApi,
    PortfolioApi,
    ResumeTradingApi,
    StatusApi,
    StopTradingApi,
    TradeApi,
)
from trading.backtest.apis import BacktestDetailApi, BacktestEquityPngApi, BacktestListApi, BacktestReportApi
from trading.strategy_apis import DecisionListApi, EvaluateApi, StrategyDetailApi, StrategyListApi
from tradingrobot.ops.apis import LivenessApi, ReadinessApi, metrics_view
from tradingrobot.security.apis import WsTicketApi
from tradingrobot.security.schema import CachedSchemaView

from .errors import json_not_found


def api(route: str, view, name: str):
    """An API route that answers with or without a trailing slash."""
    return re_path(rf"^api/{route}/?$", view.as_view(), name=name)


STRATEGY_ID = r"[A-Za-z0-9_.:-]{1,64}"

# The API description is public (no data in it; WordPress developers need it); every operation needs a key.
PUBLIC = {"authentication_classes": [], "permission_classes": [AllowAny]}


def v2(route: str, view, name: str):
    """A route of the Alpaca-compatible surface (Alpaca's paths: no trailing slash)."""
    return re_path(rf"^v2/{route}$", view.as_view(), name=f"v2-{name}")


urlpatterns = [
    path("admin/", admin.site.urls),
    v2("account", V2AccountApi, "account"),
    v2("positions", V2PositionListApi, "positions"),
    v2(r"positions/(?P<symbol>[A-Za-z.]{1,10})", V2PositionDetailApi, "position"),
    v2("orders", V2OrderListApi, "orders"),
    v2("orders:by_client_order_id", V2OrderByClientIdApi, "order-by-client-id"),
    v2(r"orders/(?P<order_ref>[^/]{1,64})", V2OrderDetailApi, "order"),
    v2("clock", V2ClockApi, "clock"),
    v2("assets", V2AssetListApi, "assets"),
    v2(r"assets/(?P<symbol>[A-Za-z.]{1,10})", V2AssetDetailApi, "asset"),
    path("dashboard/", include("dashboard.urls")),
    path("api/schema/", CachedSchemaView.as_view(**PUBLIC), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema", **PUBLIC), name="docs"),
    api("status", StatusApi, "status"),
    api("portfolio", PortfolioApi, "portfolio"),
    api("performance", PerformanceApi, "performance"),
    api(r"market_data/(?P<symbol>[^/]+)", MarketDataApi, "market-data"),
    api(r"trade/(?P<symbol>[^/]+)/(?P<side>[^/]+)", TradeApi, "trade"),
    api("orders", OrderListApi, "orders"),
    api(r"orders/(?P<order_id>[0-9]{1,18})", OrderDetailApi, "order-detail"),
    api("backtests", BacktestListApi, "backtests"),
    api(r"backtests/(?P<run_id>[0-9]{1,18})", BacktestDetailApi, "backtest-detail"),
    api(r"backtests/(?P<run_id>[0-9]{1,18})/report", BacktestReportApi, "backtest-report"),
    api(r"backtests/(?P<run_id>[0-9]{1,18})/equity\.png", BacktestEquityPngApi, "backtest-equity-png"),
    api("stop_trading", StopTradingApi, "stop-trading"),
    api("resume_trading", ResumeTradingApi, "resume-trading"),
    api("strategies", StrategyListApi, "strategies"),
    api(rf"strategies/(?P<strategy_id>{STRATEGY_ID})", StrategyDetailApi, "strategy-detail"),
    api(rf"strategies/(?P<strategy_id>{STRATEGY_ID})/decisions", DecisionListApi, "strategy-decisions"),
    api(rf"strategies/(?P<strategy_id>{STRATEGY_ID})/evaluate", EvaluateApi, "strategy-evaluate"),
    api("ws-ticket", WsTicketApi, "ws-ticket"),
    path("o/token/", TokenView.as_view(), name="oauth-token"),
    path("o/revoke_token/", RevokeTokenView.as_view(), name="oauth-revoke-token"),
    api("health", LivenessApi, "health"),
    api("health/ready", ReadinessApi, "health-ready"),
    re_path(r"^metrics/?$", metrics_view, name="metrics"),
    re_path(r"^api/", csrf_exempt(json_not_found)),  # a JSON 404 for any method, not a CSRF page
]

handler400 = "tradingrobot.errors.json_bad_request"
handler403 = "tradingrobot.errors.json_permission_denied"
handler404 = "tradingrobot.errors.json_not_found"
handler500 = "tradingrobot.errors.json_server_error"
