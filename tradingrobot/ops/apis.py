"""`GET /api/health` (liveness), `GET /api/health/ready` (readiness) and `GET /metrics` (Prometheus)."""

import hmac
import ipaddress
import logging
import os

import prometheus_client
from django.conf import settings
from django.http import HttpResponse, JsonResponse
from django.views.decorators.http import require_http_methods
from drf_spectacular.utils import extend_schema, inline_serializer
from prometheus_client import multiprocess
from prometheus_client.registry import Collector
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from market.clock import now
from trading.realtime.hub import hub_client_count
from tradingrobot.error_codes import ErrorCode
from tradingrobot.errors import error_body
from tradingrobot.security.client_ip import request_client_ip
from tradingrobot.serializer_fields import iso_z

from .collectors import StateCollector
from .dead_processes import dead_processes_mark
from .health import readiness_get
from .metrics import websocket_clients_set

logger = logging.getLogger(__name__)


class PublicApi(APIView):
    """No credential, no scope, no DRF throttle: probes call these (the per-address limit still applies)."""

    authentication_classes = []
    permission_classes = [AllowAny]
    throttle_classes = []


class LivenessApi(PublicApi):
    """The process answers. Touches no database, cache or broker."""

    @extend_schema(
        responses={
            200: inline_serializer(
                "LivenessOut", {"status": serializers.CharField(), "timestamp": serializers.CharField()}
            )
        }
    )
    def get(self, request):
        return Response({"status": "ok", "timestamp": iso_z(now())})


class ReadinessApi(PublicApi):
    """Everything the robot needs: 200 when ready, 503 when not. Only the metrics credential (METRICS_TOKEN or
    METRICS_IP_ALLOWLIST) sees each check with its message: the details name hosts, ports and exception text."""

    @extend_schema(responses={200: dict, 503: dict})
    def get(self, request):
        readiness = readiness_get()
        body = readiness.as_dict()
        response = Response(
            body if metrics_allowed(request) else readiness_public(body), status=200 if readiness.ready else 503
        )
        if not readiness.ready:  # one WARNING naming the failures instead of Django's bare ERROR line per probe
            logger.warning("%s", body["message"])
            response._has_been_logged = True  # type: ignore[attr-defined]  # Django's private flag (log_response)
        return response


def readiness_public(body: dict) -> dict:
    public = {"status": body["status"], "ready": body["ready"], "timestamp": body["timestamp"]}
    if not body["ready"]:
        public.update(code=ErrorCode.NOT_READY, message="Not ready. Details: send the metrics credential.")
    return public


class _Proxy(Collector):
    def __init__(self, registry):
        self.registry = registry

    def collect(self):
        yield from self.registry.collect()


def _registry() -> prometheus_client.CollectorRegistry:
    registry = prometheus_client.CollectorRegistry(auto_describe=False)
    if directory := os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        dead_processes_mark(directory)  # exited workers' live gauges stop counting
        multiprocess.MultiProcessCollector(registry)  # every process's values from the shared folder
    else:
        registry.register(_Proxy(prometheus_client.REGISTRY))  # this process's own values
    registry.register(StateCollector())
    return registry


def metrics_allowed(request) -> bool:
    """A bearer token equal to METRICS_TOKEN, or a client address inside METRICS_IP_ALLOWLIST."""
    token = settings.METRICS_TOKEN
    header = request.headers.get("Authorization", "")
    if token and header.startswith("Bearer ") and hmac.compare_digest(header[7:].strip().encode(), token.encode()):
        return True
    cidrs = [c.strip() for c in settings.METRICS_IP_ALLOWLIST if c.strip()]
    ip = request_client_ip(request)
    if not cidrs or ip is None:
        return False
    address = ipaddress.ip_address(ip)
    if address.version == 6 and address.ipv4_mapped:
        address = address.ipv4_mapped
    return any(address in ipaddress.ip_network(cidr, strict=False) for cidr in cidrs)


@require_http_methods(["GET", "HEAD"])
def metrics_view(request):
    if not metrics_allowed(request):
        body = error_body(
            "Metrics need 'Authorization: Bearer <METRICS_TOKEN>' or an address in METRICS_IP_ALLOWLIST.",
            ErrorCode.METRICS_FORBIDDEN,
        )
        response = JsonResponse(body, status=401 if settings.METRICS_TOKEN else 403)
        if settings.METRICS_TOKEN:
            response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    clients = hub_client_count()
    if clients is not None:
        websocket_clients_set(clients)
    output = prometheus_client.generate_latest(_registry())
    return HttpResponse(output, content_type=prometheus_client.CONTENT_TYPE_LATEST)
