from django.core.management.base import BaseCommand

from trading.services import trading_halt, trading_resume


class Command(BaseCommand):
    help = "Emergency stop from the shell: halt trading (cancel open orders), or --resume."

    def add_arguments(self, parser):
        parser.add_argument("--reason", default="Halted from the command line")
        parser.add_argument("--liquidate", action="store_true", help="also sell every position at market")
        parser.add_argument("--resume", action="store_true", help="resume trading instead")

    def handle(self, *args, reason: str, liquidate: bool, resume: bool, **options):
        if resume:
            trading_resume(resumed_by="command")
            self.stdout.write("Trading resumed")
            return
        _, canceled, liquidations = trading_halt(reason=reason, halted_by="command", liquidate=liquidate)
        self.stdout.write(
            f"Trading halted; {canceled} open order(s) canceled; {len(liquidations)} liquidation order(s)"
        )
