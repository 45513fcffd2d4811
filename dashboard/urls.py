from django.urls import path, re_path

from . import apis, views

STRATEGY_ID = r"[A-Za-z0-9_.:-]{1,64}"  # as /api/strategies/{id} (tradingrobot/urls.py)


def page_api(route: str, view, name: str):
    return re_path(rf"^api/{route}/?$", view.as_view(), name=f"dashboard-api-{name}")


urlpatterns = [
    path("", views.dashboard_page, name="dashboard"),
    path("login/", views.DashboardLoginView.as_view(), name="dashboard-login"),
    path("logout/", views.DashboardLogoutView.as_view(), name="dashboard-logout"),
    page_api("status", apis.PageStatusApi, "status"),
    page_api("portfolio", apis.PagePortfolioApi, "portfolio"),
    page_api("performance", apis.PagePerformanceApi, "performance"),
    page_api("equity", apis.PageEquityApi, "equity"),
    page_api(r"market_data/(?P<symbol>[^/]+)", apis.PageMarketDataApi, "market-data"),
    page_api("orders", apis.PageOrderListApi, "orders"),
    page_api(r"orders/(?P<order_id>[0-9]{1,18})", apis.PageOrderDetailApi, "order-detail"),
    page_api("stop_trading", apis.PageStopTradingApi, "stop-trading"),
    page_api("resume_trading", apis.PageResumeTradingApi, "resume-trading"),
    page_api("ws-ticket", apis.PageWsTicketApi, "ws-ticket"),
    page_api("strategies", apis.PageStrategyListApi, "strategies"),
    page_api(rf"strategies/(?P<strategy_id>{STRATEGY_ID})", apis.PageStrategyDetailApi, "strategy-detail"),
    page_api(rf"strategies/(?P<strategy_id>{STRATEGY_ID})/decisions", apis.PageDecisionListApi, "strategy-decisions"),
    page_api("backtests", apis.PageBacktestListApi, "backtests"),
    page_api(r"backtests/(?P<run_id>[0-9]{1,18})", apis.PageBacktestDetailApi, "backtest-detail"),
    page_api(r"backtests/(?P<run_id>[0-9]{1,18})/report", apis.PageBacktestReportApi, "backtest-report"),
    page_api(r"backtests/(?P<run_id>[0-9]{1,18})/equity\.png", apis.PageBacktestEquityPngApi, "backtest-equity-png"),
]
