"""django_prometheus's request metrics, with each labelled series looked up once per process: its middleware
asks `metric.labels(...)` about a dozen times per request, which validates and locks each time, for series that
never change once made (prometheus_client keeps every child for the process's life anyway)."""

from typing import Any

from django_prometheus.middleware import PrometheusAfterMiddleware


class RequestMetricsMiddleware(PrometheusAfterMiddleware):
    """PrometheusAfterMiddleware whose labelled series are kept per (metric, labels) after their first use."""

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self._series: dict[tuple, Any] = {}

    def label_metric(self, metric, request, response=None, **labels):
        if not labels:
            return metric
        key = (id(metric), *labels.items())  # the values' order is the call's: one call site, one order
        series = self._series.get(key)
        if series is None:
            series = self._series[key] = metric.labels(**labels)
        return series
