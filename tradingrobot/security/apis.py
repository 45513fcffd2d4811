from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from .principals import principal_ticket
from .scopes import READ
from .services import WS_TICKET_SECONDS, ws_ticket_issue


class WsTicketOut(serializers.Serializer):
    status = serializers.CharField()
    ticket = serializers.CharField(help_text="Connect to /ws/updates?ticket=<ticket> within expires_in seconds.")
    expires_in = serializers.IntegerField()


class WsTicketApi(APIView):
    """A single-use, short-lived WebSocket ticket for browsers, which cannot send headers on a WebSocket."""

    required_scope = READ

    @extend_schema(request=None, responses={201: WsTicketOut})
    def post(self, request):
        principal = principal_ticket(request.auth)
        assert principal is not None  # required_scope admitted a key or a token
        ticket = ws_ticket_issue(principal=principal)
        return Response({"status": "success", "ticket": ticket, "expires_in": WS_TICKET_SECONDS}, status=201)
