"""GET /api/performance as JSON bytes: the same bytes as rendering `PerformanceOut(report).data`, memoized per
ledger version beside the report, and built without DRF's per-field walk (51 metric documents of 14 numbers)."""

from collections.abc import Callable
from typing import Any

from rest_framework import serializers
from rest_framework.renderers import JSONRenderer

from .performance import performance_memo, performance_report
from .serializers import MetricsOut, PeriodOut


def _converter(field: serializers.Field) -> Callable[[Any], Any]:
    if isinstance(field, serializers.IntegerField):
        return int
    if isinstance(field, serializers.FloatField):
        return float
    raise TypeError(f"MetricsOut.{field.field_name}: no fast rendering for {type(field).__name__}")


_METRICS = tuple((name, _converter(field)) for name, field in MetricsOut().fields.items())
_PERIOD = tuple(PeriodOut().fields.items())
_MOMENT = serializers.DateTimeField()


def _metrics(metrics: dict) -> dict:
    # DRF's Serializer.to_representation: None stays None, any other value through the field's conversion
    return {name: None if metrics[name] is None else convert(metrics[name]) for name, convert in _METRICS}


def performance_data(report: dict) -> dict:
    """`PerformanceOut(report).data`, as plain dicts in the serializer's field order."""
    data: dict[str, Any] = {
        "strategy_id": str(report["strategy_id"]),
        "period": {name: field.to_representation(report["period"][name]) for name, field in _PERIOD},
        "metrics": _metrics(report["metrics"]),
    }
    if "strategies" in report:
        data["strategies"] = [
            {"strategy_id": str(s["strategy_id"]), "metrics": _metrics(s["metrics"])} for s in report["strategies"]
        ]
    data["timestamp"] = _MOMENT.to_representation(report["timestamp"])
    return data


def performance_json(*, strategy_id: str | None = None) -> bytes:
    """`performance_report` rendered as the API answers it (NotFound as the report raises it)."""
    key = ("json", strategy_id or "")
    return performance_memo.get(
        key, lambda: JSONRenderer().render(performance_data(performance_report(strategy_id=strategy_id)))
    )
