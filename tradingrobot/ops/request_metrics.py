"""django_prometheus's request metrics, with each labelled series looked up once per process: its middleware
asks `metric.labels(...)` about a dozen times per request, which validates and locks each time, for series that
never change once made (prometheus_client keeps every child for the process's life anyway).

The same series are counted as by PrometheusAfterMiddleware (tests/ops/test_request_metrics.py compares the two);
what changes is how they are found: the two request headers it reads come from META (`request.headers` builds the
whole header map for them), and a response's series are found once per kind of answer (status, view, method,
charset, streaming) instead of by five label lookups and a Content-Type parse per response. One difference: the
latency histogram labels a method that is not HTTP's as "<invalid method>", as the other series do, where
django_prometheus makes a series per made-up method.
"""

from typing import Any

from django_prometheus.middleware import PrometheusAfterMiddleware
from django_prometheus.utils import Time, TimeSince

MAX_KINDS = 1024  # kinds of answer kept (status x view x method x charset); the rest are looked up each time


class RequestMetricsMiddleware(PrometheusAfterMiddleware):
    """PrometheusAfterMiddleware whose labelled series are kept per (metric, labels) after their first use."""

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self._series: dict[tuple, Any] = {}
        self._answers: dict[tuple, tuple[list[Any], Any, Any]] = {}

    def label_metric(self, metric, request, response=None, **labels):
        if not labels:
            return metric
        key = (id(metric), *labels.items())  # the values' order is the call's: one call site, one order
        series = self._series.get(key)
        if series is None:
            series = self._series[key] = metric.labels(**labels)
        return series

    def process_request(self, request):
        meta = request.META
        method = self._method(request)
        self.label_metric(self.metrics.requests_by_method, request, method=method).inc()
        self.label_metric(self.metrics.requests_by_transport, request, transport=self._transport(request)).inc()
        if meta.get("HTTP_X_REQUESTED_WITH") == "XMLHttpRequest":
            self.label_metric(self.metrics.requests_ajax, request).inc()
        self.metrics.requests_body_bytes.observe(int(meta.get("CONTENT_LENGTH") or 0))
        request.prometheus_after_middleware_event = Time()

    def process_response(self, request, response):
        view, method = self._get_view_name(request), self._method(request)
        kind = (
            type(response),
            response.status_code,
            view,
            method,
            response._charset,  # None: the charset comes from Content-Type (or the default)
            response.get("Content-Type"),
            getattr(response, "streaming", False),
        )
        answer = self._answers.get(kind)
        if answer is None:
            answer = self._answer_series(request, response, view, method)
            if len(self._answers) < MAX_KINDS:
                self._answers[kind] = answer
        counted, body_bytes, latency = answer
        for series in counted:
            series.inc()
        if body_bytes is not None:
            body_bytes.observe(len(response.content))
        started = getattr(request, "prometheus_after_middleware_event", None)
        if started is None:
            self.metrics.requests_unknown_latency.inc()
        else:
            latency.observe(TimeSince(started))
        return response

    def _answer_series(self, request, response, view: str, method: str) -> tuple[list[Any], Any, Any]:
        """The series PrometheusAfterMiddleware.process_response counts for this kind of answer: those counted
        by one, the body-size histogram (None for a streaming answer) and the latency histogram."""
        status, metrics = str(response.status_code), self.metrics
        counted = [
            self.label_metric(metrics.responses_by_status, request, response, status=status),
            self.label_metric(
                metrics.responses_by_status_view_method, request, response, status=status, view=view, method=method
            ),
        ]
        if hasattr(response, "charset"):
            counted.append(
                self.label_metric(metrics.responses_by_charset, request, response, charset=str(response.charset))
            )
        if getattr(response, "streaming", False):
            counted.append(metrics.responses_streaming)
        body_bytes = metrics.responses_body_bytes if hasattr(response, "content") else None
        # The method as the other series label it (django_prometheus uses request.method here: a series per
        # made-up method).
        latency_series = metrics.requests_latency_by_view_method
        latency = self.label_metric(latency_series, request, response, view=view, method=method)
        return counted, body_bytes, latency
