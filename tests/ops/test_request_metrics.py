"""RequestMetricsMiddleware (tradingrobot/ops/request_metrics.py) counts the series django_prometheus's
PrometheusAfterMiddleware counts, by the same amounts, for every kind of answer."""

from typing import Any

import pytest
from django.http import HttpResponse, JsonResponse, StreamingHttpResponse
from django.test import RequestFactory
from django.urls import ResolverMatch
from django_prometheus.middleware import PrometheusAfterMiddleware
from prometheus_client import REGISTRY

from tradingrobot.ops.request_metrics import RequestMetricsMiddleware

ANSWERS = {
    "json": lambda: JsonResponse({"ok": True}),
    "html latin-1": lambda: HttpResponse("é", content_type="text/html; charset=latin-1"),
    "plain 404": lambda: HttpResponse(b"gone", status=404),
    "streaming": lambda: StreamingHttpResponse(iter([b"a", b"b"])),
}


def _samples() -> dict[tuple, float]:
    """Every django_http sample but clock readings (the latencies' sums, the series' creation times)."""
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for metric in REGISTRY.collect()
        if metric.name.startswith("django_http")
        for sample in metric.samples
        if not sample.name.endswith("_created") and ("latency" not in sample.name or sample.name.endswith("_count"))
    }


def _counted(middleware_class, request_args: dict, answer) -> dict[tuple, float]:
    middleware = middleware_class(lambda request: answer())
    before = _samples()
    for _ in range(3):  # the second and third answers come from the kept series
        request = RequestFactory().generic(**request_args)
        request.resolver_match = ResolverMatch(lambda request: None, (), {}, url_name="status")
        middleware.process_request(request)
        middleware.process_view(request, request.resolver_match.func, (), {})
        middleware.process_response(request, answer())
    after = _samples()
    return {key: value - before.get(key, 0.0) for key, value in after.items() if value != before.get(key, 0.0)}


REQUESTS: dict[str, dict[str, Any]] = {
    "GET": {"method": "GET", "path": "/api/status"},
    "POST with a body": {"method": "POST", "path": "/api/trade/TSLA/buy", "data": b'{"quantity": 1}'},
    "ajax": {"method": "GET", "path": "/api/status", "HTTP_X_REQUESTED_WITH": "XMLHttpRequest"},
}


@pytest.mark.parametrize("answer", ANSWERS)
@pytest.mark.parametrize("request_kind", REQUESTS)
def test_the_same_series_are_counted_as_by_django_prometheus(answer, request_kind):
    library = _counted(PrometheusAfterMiddleware, REQUESTS[request_kind], ANSWERS[answer])
    ours = _counted(RequestMetricsMiddleware, REQUESTS[request_kind], ANSWERS[answer])
    assert ours == library
    assert library  # something was counted


def test_a_made_up_method_is_labelled_invalid_in_the_latency_too():
    counted = _counted(RequestMetricsMiddleware, {"method": "BREW", "path": "/api/status"}, ANSWERS["json"])
    latency = [labels for (name, labels) in counted if "latency" in name]
    assert latency and all(dict(labels)["method"] == "<invalid method>" for labels in latency)
