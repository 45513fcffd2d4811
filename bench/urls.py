"""The product's routes plus the ceilings served the same way, for side-by-side figures."""

from django.db import transaction
from django.urls import path
from rest_framework.response import Response
from rest_framework.views import APIView

from portfolio.ledger import account_get_or_create
from portfolio.models import Account
from tradingrobot.urls import urlpatterns as product_urlpatterns


class MinimalApi(APIView):
    """The least a DRF endpoint can do: the ceiling for GET /api/status."""

    def get(self, request):
        return Response({"ok": True})


class MinimalLockedTradeApi(APIView):
    """A minimal locked 'place trade' transaction: lock the account row, change cash, commit."""

    def post(self, request):
        account_get_or_create()
        with transaction.atomic():
            account = Account.objects.select_for_update().get(name="paper")
            account.cash += 0
            account.save(update_fields=["cash"])
        return Response({"status": "success"}, status=201)


urlpatterns = [
    path("bench/minimal", MinimalApi.as_view()),
    path("bench/minimal_lean", MinimalApi.as_view()),  # served on the lean path (bench/api_load.py's API_LEAN_PATHS)
    path("bench/locked_trade", MinimalLockedTradeApi.as_view()),
    *product_urlpatterns,
]
