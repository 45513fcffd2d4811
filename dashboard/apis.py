"""The page's JSON routes: the API's own views (same serializers, same services), reached with the session."""

from rest_framework.response import Response
from rest_framework.views import APIView

from market.apis import MarketDataApi
from trading.apis import (
    OrderDetailApi,
    OrderListApi,
    PerformanceApi,
    PortfolioApi,
    ResumeTradingApi,
    StatusApi,
    StopTradingApi,
)
from tradingrobot.security.principals import principal_ticket
from tradingrobot.security.scopes import READ
from tradingrobot.security.services import WS_TICKET_SECONDS, ws_ticket_issue

from .permissions import StaffSession
from .selectors import equity_curve, price_source_list


class PageStatusApi(StaffSession, StatusApi):
    pass


class PagePortfolioApi(StaffSession, PortfolioApi):
    pass


class PagePerformanceApi(StaffSession, PerformanceApi):
    pass


class PageMarketDataApi(StaffSession, MarketDataApi):
    pass


class PageOrderListApi(StaffSession, OrderListApi):
    pass


class PageOrderDetailApi(StaffSession, OrderDetailApi):
    pass


class PageStopTradingApi(StaffSession, StopTradingApi):
    pass


class PageResumeTradingApi(StaffSession, ResumeTradingApi):
    pass


class PageWsTicketApi(StaffSession, APIView):
    """A single-use ticket naming the logged-in user, for `/ws/updates?ticket=` (browsers send no headers)."""

    required_scope = READ

    def post(self, request):
        ticket = ws_ticket_issue(principal=principal_ticket(request.user))
        return Response({"status": "success", "ticket": ticket, "expires_in": WS_TICKET_SECONDS}, status=201)


class PageEquityApi(StaffSession, APIView):
    required_scope = READ

    def get(self, request):
        return Response({"points": equity_curve(limit=1000)})


class PagePriceSourcesApi(StaffSession, APIView):
    required_scope = READ

    def get(self, request):
        return Response({"sources": price_source_list()})
