from django.contrib import admin
from django.urls import path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from market.apis import MarketDataApi
from portfolio.apis import PortfolioApi, StatusApi
from trading.apis import (
    OrderDetailApi,
    OrderListApi,
    ResumeTradingApi,
    StopTradingApi,
    TradeApi,
)

from .errors import json_not_found


def api(route: str, view, name: str):
    """An API route that answers with or without a trailing slash."""
    return re_path(rf"^api/{route}/?$", view.as_view(), name=name)


urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="docs"),
    api("status", StatusApi, "status"),
    api("portfolio", PortfolioApi, "portfolio"),
    api(r"market_data/(?P<symbol>[^/]+)", MarketDataApi, "market-data"),
    api(r"trade/(?P<symbol>[^/]+)/(?P<side>[^/]+)", TradeApi, "trade"),
    api("orders", OrderListApi, "orders"),
    api(r"orders/(?P<order_id>[0-9]{1,18})", OrderDetailApi, "order-detail"),
    api("stop_trading", StopTradingApi, "stop-trading"),
    api("resume_trading", ResumeTradingApi, "resume-trading"),
    re_path(r"^api/", json_not_found),
]

handler400 = "tradingrobot.errors.json_bad_request"
handler403 = "tradingrobot.errors.json_permission_denied"
handler404 = "tradingrobot.errors.json_not_found"
handler500 = "tradingrobot.errors.json_server_error"
