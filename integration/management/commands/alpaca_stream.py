from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from integration.alpaca_broker import trading_client_build
from integration.alpaca_reconcile import account_reconcile
from integration.alpaca_stream import orders_reconcile, trade_update_apply, trading_stream_build


class Command(BaseCommand):
    help = (
        "Consume Alpaca's trade_updates stream into the ledger (TRADING_BROKER=alpaca); every (re)connection first "
        "reconciles missed updates from Alpaca's order list. Runs until stopped."
    )

    def handle(self, *args, **options):
        if settings.TRADING_BROKER != "alpaca":
            raise CommandError("TRADING_BROKER is not alpaca: the paper broker has no stream to consume.")
        client = trading_client_build()
        account_reconcile(client=client)  # on start; then on the beat's schedule
        stream = trading_stream_build(on_update=trade_update_apply, on_connect=lambda: orders_reconcile(client=client))
        stream.run()
