"""/api/strategies: thin views over trading/engine (selectors read, services change; read scope lists, admin
scope changes)."""

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from tradingrobot.actors import actor_of
from tradingrobot.error_codes import ErrorCode
from tradingrobot.errors import InvalidInput
from tradingrobot.query_params import int_param, time_param
from tradingrobot.security.client_ip import request_client_ip
from tradingrobot.serializer_fields import ErrorOut, qty_field

from .engine import selectors, services
from .models import StrategyDecision
from .strategy_serializers import DecisionListOut, DecisionOut, StrategyListOut, StrategyOut, StrategyPatchIn


def _with_last_decision(strategies: list) -> list:
    latest = selectors.decisions_latest(strategy_pks=[s.pk for s in strategies])
    for strategy in strategies:
        strategy.last_decision = latest.get(strategy.pk)
    return strategies


def _body(request) -> dict:
    if not isinstance(request.data, dict):
        raise InvalidInput(
            'The request body must be a JSON object, like {"enabled": true}.', code=ErrorCode.INVALID_BODY
        )
    return request.data


class StrategyListApi(APIView):
    required_scope = "read"

    @extend_schema(
        parameters=[
            OpenApiParameter("enabled", bool, description="only enabled (true) or disabled (false) strategies"),
            OpenApiParameter("symbol", str),
        ],
        responses={200: StrategyListOut, 400: ErrorOut},
    )
    def get(self, request):
        enabled = request.query_params.get("enabled")
        if enabled not in (None, "", "true", "false"):
            raise InvalidInput(f"enabled must be true or false; got {enabled[:20]!r}.", code=ErrorCode.INVALID_ENABLED)
        symbol = request.query_params.get("symbol") or None
        strategies = selectors.strategy_list(
            enabled=None if not enabled else enabled == "true", ticker=symbol.upper() if symbol else None
        )
        rows = _with_last_decision(list(strategies))
        return Response(StrategyListOut({"strategies": rows, "total": len(rows)}).data)


class StrategyDetailApi(APIView):
    required_scope = {"GET": "read", "PATCH": "admin"}

    @extend_schema(operation_id="strategy_detail", responses={200: StrategyOut, 404: ErrorOut})
    def get(self, request, strategy_id: str):
        (strategy,) = _with_last_decision([selectors.strategy_get(strategy_id=strategy_id)])
        return Response(StrategyOut(strategy).data)

    @extend_schema(request=StrategyPatchIn, responses={200: StrategyOut, 400: ErrorOut, 404: ErrorOut})
    def patch(self, request, strategy_id: str):
        selectors.strategy_get(strategy_id=strategy_id)  # 404 before 400 for an unknown id
        patch = StrategyPatchIn(data=_body(request))
        patch.is_valid(raise_exception=True)
        strategy = services.strategy_update(
            strategy_id=strategy_id, changes=patch.validated_data, by=actor_of(request), ip=request_client_ip(request)
        )
        (strategy,) = _with_last_decision([selectors.strategy_get(strategy_id=strategy.strategy_id)])
        return Response(StrategyOut(strategy).data)


class DecisionListApi(APIView):
    required_scope = "read"

    @extend_schema(
        parameters=[
            OpenApiParameter("outcome", str, enum=StrategyDecision.Outcome.values),
            OpenApiParameter("after", str, description="ISO 8601; decisions on bars ending at or after"),
            OpenApiParameter("until", str, description="ISO 8601; decisions on bars ending before"),
            OpenApiParameter("limit", int, default=50),
            OpenApiParameter("offset", int, default=0),
        ],
        responses={200: DecisionListOut, 400: ErrorOut, 404: ErrorOut},
    )
    def get(self, request, strategy_id: str):
        params = request.query_params
        strategy = selectors.strategy_get(strategy_id=strategy_id)
        outcome = params.get("outcome") or None
        if outcome is not None and outcome not in StrategyDecision.Outcome.values:
            raise InvalidInput(
                f"outcome must be one of {', '.join(StrategyDecision.Outcome.values)}; got {outcome[:20]!r}.",
                code=ErrorCode.INVALID_OUTCOME,
            )
        decisions = selectors.decision_list(
            strategy_id=strategy.strategy_id,
            since=time_param(params.get("after"), "after", code=ErrorCode.INVALID_AFTER),
            until=time_param(params.get("until"), "until", code=ErrorCode.INVALID_UNTIL),
            outcome=outcome,
        )
        limit = int_param(
            params.get("limit"), "limit", code=ErrorCode.INVALID_LIMIT, default=50, minimum=1, maximum=500
        )
        offset = int_param(
            params.get("offset"), "offset", code=ErrorCode.INVALID_OFFSET, default=0, minimum=0, maximum=10**9
        )
        body = {
            "strategy_id": strategy.strategy_id,
            "decisions": list(decisions[offset : offset + limit]),
            "total": decisions.count(),
            "limit": limit,
            "offset": offset,
        }
        return Response(DecisionListOut(body).data)


class EvaluationOut(serializers.Serializer):
    strategy_id = serializers.CharField()
    bar_end = serializers.DateTimeField()
    outcome = serializers.ChoiceField(choices=StrategyDecision.Outcome.values)
    reason = serializers.CharField(allow_blank=True)
    message = serializers.CharField(allow_blank=True)
    target = serializers.CharField(allow_blank=True, help_text="long or flat; empty when a guard skipped")
    qty = qty_field(help_text="shares the engine would order")
    position_qty = qty_field(help_text="the strategy's own position")
    indicators = serializers.DictField(child=serializers.FloatField(allow_null=True))
    ordered = serializers.BooleanField(default=False, help_text="always false: an evaluation never orders")


class EvaluateApi(APIView):
    required_scope = "read"

    @extend_schema(request=None, responses={200: EvaluationOut, 404: ErrorOut, 422: ErrorOut})
    def post(self, request, strategy_id: str):
        result = services.strategy_evaluate(strategy_id=strategy_id)
        return Response(EvaluationOut(result).data)


__all__ = ["DecisionListApi", "DecisionOut", "EvaluateApi", "StrategyDetailApi", "StrategyListApi"]
