"""The price writer's side of tests/integration/test_engine_worker_e2e.py, run as its own process on the scratch
database (as the poller would be): `python -m tests.integration.engine_worker_feed STEP BAR_END_ISO`.

- setup: an enabled sma_crossover strategy on TSLA and four rising 5-minute bars of history (no trading);
- close: the live sample at BAR_END that closes the last bar (bar_closed -> the Celery task on Redis);
- again: the same bar's task sent once more (a redelivery);
- deliver: the push-back run (the fill to WordPress);
- report: what the ledger holds, as JSON on stdout.
"""

import datetime as dt
import json
import sys
from decimal import Decimal

BAR = dt.timedelta(minutes=5)


def main(step: str, end: dt.datetime) -> None:
    import django

    django.setup()
    from integration.pushback import outbox_deliver
    from market.models import PriceSample, Symbol
    from market.services import SampleIn, sample_upsert_many
    from trading.engine.services import strategy_create
    from trading.models import Fill, Order, Strategy, StrategyDecision
    from trading.tasks import strategies_bar_closed

    tsla = Symbol.objects.get(ticker="TSLA")
    if step == "setup":
        strategy_create(
            strategy_id="STRATEGY-TSLA",
            ticker="TSLA",
            fields={"params": {"fast": 2, "slow": 3}, "enabled": True, "sizing_value": "3"},
            by="e2e",
        )
        history = [SampleIn(tsla.pk, end - (4 - i) * BAR, Decimal(100 + i), 1000 + i) for i in range(4)]
        sample_upsert_many(samples=history, source=PriceSample.Source.CSV, live=False)
    elif step == "close":
        sample_upsert_many(samples=[SampleIn(tsla.pk, end, Decimal("104"), 2000)], source="manual", live=True)
    elif step == "again":
        pks = list(Strategy.objects.values_list("pk", flat=True))
        strategies_bar_closed.delay(ticker="TSLA", timeframe="5Min", bar_end=end.isoformat(), strategy_pks=pks)
    elif step == "deliver":
        print(json.dumps({"delivered": outbox_deliver().delivered}))
    elif step == "report":
        orders = list(Order.objects.values("client_order_id", "source", "strategy_id", "status", "side", "qty"))
        print(
            json.dumps(
                {
                    "orders": orders,
                    "fills": Fill.objects.count(),
                    "decisions": list(StrategyDecision.objects.order_by("bar_end").values_list("outcome", "reason")),
                },
                default=str,
            )
        )
    else:
        raise SystemExit(f"unknown step {step!r}")


if __name__ == "__main__":
    main(sys.argv[1], dt.datetime.fromisoformat(sys.argv[2]))
