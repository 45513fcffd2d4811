"""Backtests over the API: POST /api/backtests (admin; 202 with the id, run by a Celery worker),
GET /api/backtests/{id} (status, progress, metrics, trades or the sweep's ranking), .../report (HTML) and
.../equity.png."""

import json
from pathlib import Path

from django.db import transaction
from django.http import FileResponse
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework import status as http
from rest_framework.response import Response
from rest_framework.views import APIView

from tradingrobot.error_codes import ErrorCode
from tradingrobot.errors import Conflict, InvalidInput
from tradingrobot.serializer_fields import ErrorOut

from . import services, tasks
from .models import BacktestRun


class BacktestIn(serializers.Serializer):
    kind = serializers.CharField()
    symbols = serializers.ListField(child=serializers.CharField(max_length=10), min_length=1, max_length=20)
    timeframe = serializers.CharField(default="5Min")
    params = serializers.DictField(required=False)
    grid = serializers.DictField(child=serializers.ListField(), required=False)
    rank_by = serializers.CharField(required=False)
    start = serializers.DateField()
    end = serializers.DateField()
    slippage_bps = serializers.DecimalField(max_digits=12, decimal_places=4, required=False)
    commission = serializers.DecimalField(max_digits=12, decimal_places=6, required=False)
    commission_min = serializers.DecimalField(max_digits=12, decimal_places=4, required=False)
    qty = serializers.DecimalField(max_digits=16, decimal_places=4, required=False)
    starting_cash = serializers.DecimalField(max_digits=16, decimal_places=2, required=False)
    data = serializers.ChoiceField(choices=["store", "synthetic"], default="store")  # type: ignore[assignment]  # field named data shadows Serializer.data in the DRF stub
    seed = serializers.IntegerField(min_value=0, max_value=2**32, default=7)


class BacktestOut(serializers.Serializer):
    id = serializers.IntegerField()
    status = serializers.CharField()
    reason = serializers.CharField()
    progress = serializers.FloatField()
    params = serializers.DictField()
    metrics = serializers.DictField(allow_null=True)
    trades = serializers.ListField(child=serializers.DictField(), allow_null=True)
    ranking = serializers.ListField(child=serializers.DictField(), allow_null=True)
    combinations = serializers.IntegerField(allow_null=True)
    wall_seconds = serializers.FloatField(allow_null=True)
    report_url = serializers.CharField(allow_null=True)
    equity_png_url = serializers.CharField(allow_null=True)


def _trades(run: BacktestRun) -> list | None:
    if not run.report_paths:
        return None
    return json.loads(Path(run.report_paths["report.json"]).read_text())["trades"]


def _out(run: BacktestRun) -> dict:
    has_report = run.status == BacktestRun.Status.DONE and bool(run.report_paths)
    return {
        "id": run.pk,
        "status": run.status,
        "reason": run.reason,
        "progress": run.progress,
        "params": run.params,
        "metrics": run.metrics,
        "trades": _trades(run),
        "ranking": run.ranking,
        "combinations": run.children.count() if run.params.get("grid") else None,
        "wall_seconds": run.wall_seconds,
        "report_url": f"/api/backtests/{run.pk}/report" if has_report else None,
        "equity_png_url": f"/api/backtests/{run.pk}/equity.png" if has_report else None,
    }


class BacktestListApi(APIView):
    required_scope = {"POST": "admin"}
    audit_action = {"POST": "backtest_create"}

    @extend_schema(
        operation_id="backtest_create", request=BacktestIn, responses={202: BacktestOut, 400: ErrorOut, 404: ErrorOut}
    )
    def post(self, request):
        if not hasattr(request.data, "get"):
            raise InvalidInput("The body must be a JSON object.", code=ErrorCode.INVALID_BODY)
        body = BacktestIn(data=request.data)
        body.is_valid(raise_exception=True)
        run = services.backtest_create(raw=body.validated_data)
        transaction.on_commit(lambda: tasks.backtest_run.delay(run.pk))
        return Response(_out(run), status=http.HTTP_202_ACCEPTED)


class BacktestDetailApi(APIView):
    required_scope = "read"

    @extend_schema(operation_id="backtest_detail", responses={200: BacktestOut, 404: ErrorOut})
    def get(self, request, run_id: int):
        return Response(_out(services.backtest_get(run_id=run_id)))


def _report_file(run_id: int, name: str) -> Path:
    run = services.backtest_get(run_id=run_id)
    if run.status != BacktestRun.Status.DONE or not run.report_paths:
        raise Conflict(
            f"Backtest {run_id} has no report: it is {run.status}"
            + (f" ({run.reason})." if run.reason else "; GET /api/backtests/{id} shows its progress."),
            code=ErrorCode.BACKTEST_NOT_DONE,
        )
    return Path(run.report_paths[name])


class BacktestReportApi(APIView):
    required_scope = "read"

    @extend_schema(
        operation_id="backtest_report",
        responses={200: OpenApiResponse(description="the HTML report"), 404: ErrorOut, 409: ErrorOut},
    )
    def get(self, request, run_id: int):
        return FileResponse(_report_file(run_id, "report.html").open("rb"), content_type="text/html; charset=utf-8")


class BacktestEquityPngApi(APIView):
    required_scope = "read"

    @extend_schema(
        operation_id="backtest_equity_png",
        responses={200: OpenApiResponse(description="the 3-panel PNG"), 404: ErrorOut, 409: ErrorOut},
    )
    def get(self, request, run_id: int):
        return FileResponse(_report_file(run_id, "equity.png").open("rb"), content_type="image/png")
