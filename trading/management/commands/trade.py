from django.core.management.base import BaseCommand, CommandError

from trading.models import Order
from trading.order_request import order_request_parse
from trading.services import order_place
from tradingrobot.errors import DomainError


class Command(BaseCommand):
    help = "Place an order through the same service as the API: trade TSLA buy 10 [--type limit --limit-price 240]."

    def add_arguments(self, parser):
        parser.add_argument("symbol")
        parser.add_argument("side", help="buy or sell")
        parser.add_argument("quantity")
        parser.add_argument("--type", default="market", choices=["market", "limit"])
        parser.add_argument("--limit-price")
        parser.add_argument("--time-in-force", default="day", choices=["day", "gtc"])
        parser.add_argument("--client-order-id")

    def handle(self, *args, **options):
        try:
            request = order_request_parse(
                ticker=options["symbol"],
                side=options["side"],
                qty=options["quantity"],
                type=options["type"],
                limit_price=options["limit_price"],
                time_in_force=options["time_in_force"],
                client_order_id=options["client_order_id"],
            )
            order, created = order_place(request=request, placed_by="command", source=Order.Source.COMMAND)
        except DomainError as error:
            raise CommandError(f"{error.code}: {error.message}") from None
        if order.status == Order.Status.REJECTED:
            raise CommandError(f"order {order.pk} rejected ({order.reject_code}): {order.reject_reason}")
        price = f" at {order.filled_avg_price}" if order.filled_avg_price else ""
        again = "" if created else " (already placed with this client order id)"
        self.stdout.write(
            f"order {order.pk}: {order.side} {order.qty} {order.symbol.ticker} {order.status}{price}{again}"
        )
