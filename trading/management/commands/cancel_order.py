from django.core.management.base import BaseCommand, CommandError

from trading.authority import OPERATOR
from trading.services import order_cancel
from tradingrobot.errors import DomainError


class Command(BaseCommand):
    help = (
        "Cancel open orders by id through the same service as the API. The host's shell is the operator: it may "
        "cancel any order, liquidation orders included (the API needs the admin scope for those)."
    )

    def add_arguments(self, parser):
        parser.add_argument("order_ids", nargs="+", type=int)

    def handle(self, *args, order_ids: list[int], **options):
        refused = []
        for order_id in order_ids:
            try:
                order = order_cancel(order_id=order_id, canceled_by="command", authority=OPERATOR)
            except DomainError as error:
                refused.append(f"{error.code}: {error.message}")
                continue
            self.stdout.write(f"order {order.pk}: {order.status}")
        if refused:
            raise CommandError("; ".join(refused))
