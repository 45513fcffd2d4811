"""The page's JSON routes: the API's own views (same serializers, same services), reached with the session."""

from django.urls import reverse
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
from trading.backtest.apis import BacktestDetailApi, BacktestEquityPngApi, BacktestListApi, BacktestReportApi
from trading.backtest.models import BacktestRun
from trading.strategy_apis import DecisionListApi, StrategyDetailApi, StrategyListApi
from tradingrobot.security.principals import principal_ticket
from tradingrobot.security.scopes import READ
from tradingrobot.security.services import WS_TICKET_SECONDS, ws_ticket_issue

from .permissions import StaffSession
from .selectors import backtest_list, equity_curve, strategy_pnl_map


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


def _with_pnl(rows: list[dict], pnl: dict[str, str | None]) -> list[dict]:
    for row in rows:
        row["pnl"] = pnl.get(row["strategy_id"])
    return rows


class PageStrategyListApi(StaffSession, StrategyListApi):
    """/api/strategies plus each strategy's own P&L (the figure the site's strategy list carries)."""

    def get(self, request):
        response = super().get(request)
        _with_pnl(response.data["strategies"], strategy_pnl_map())
        return response


class PageStrategyDetailApi(StaffSession, StrategyDetailApi):
    """GET and PATCH (the enabled toggle: `admin`, so staff with the halt permission) with the P&L added."""

    def get(self, request, strategy_id: str):
        response = super().get(request, strategy_id)
        _with_pnl([response.data], strategy_pnl_map())
        return response

    def patch(self, request, strategy_id: str):
        response = super().patch(request, strategy_id)
        _with_pnl([response.data], strategy_pnl_map())
        return response


class PageDecisionListApi(StaffSession, DecisionListApi):
    pass


def _backtest_row(run: BacktestRun) -> dict:
    """The list's shape: what a run is and how it did; trades and rankings stay in the detail and the report."""
    done = run.status == BacktestRun.Status.DONE and bool(run.report_paths)
    params = run.params or {}
    return {
        "id": run.pk,
        "status": run.status,
        "reason": run.reason,
        "progress": run.progress,
        "kind": params.get("kind"),
        "symbols": params.get("symbols") or [],
        "timeframe": params.get("timeframe"),
        "start": params.get("start"),
        "end": params.get("end"),
        "data": params.get("data"),
        "metrics": run.metrics,
        "created_at": run.created_at,
        "report_url": reverse("dashboard-api-backtest-report", args=[run.pk]) if done else None,
        "equity_png_url": reverse("dashboard-api-backtest-equity-png", args=[run.pk]) if done else None,
    }


class PageBacktestListApi(StaffSession, BacktestListApi):
    """GET: the newest 20 runs (the page's list); POST: /api/backtests's own (start one; `admin`)."""

    required_scope = {"GET": "read", "POST": "admin"}

    def get(self, request):
        return Response({"backtests": [_backtest_row(run) for run in backtest_list(limit=20)]})


class PageBacktestDetailApi(StaffSession, BacktestDetailApi):
    pass


class PageBacktestReportApi(StaffSession, BacktestReportApi):
    pass


class PageBacktestEquityPngApi(StaffSession, BacktestEquityPngApi):
    pass
