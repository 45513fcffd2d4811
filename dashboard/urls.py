from django.urls import path, re_path

from . import apis, views


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
    page_api("price_sources", apis.PagePriceSourcesApi, "price-sources"),
    page_api(r"market_data/(?P<symbol>[^/]+)", apis.PageMarketDataApi, "market-data"),
    page_api("orders", apis.PageOrderListApi, "orders"),
    page_api(r"orders/(?P<order_id>[0-9]{1,18})", apis.PageOrderDetailApi, "order-detail"),
    page_api("stop_trading", apis.PageStopTradingApi, "stop-trading"),
    page_api("resume_trading", apis.PageResumeTradingApi, "resume-trading"),
    page_api("ws-ticket", apis.PageWsTicketApi, "ws-ticket"),
]
