"""The "prices arrived" follow-up, the one thing every price writer does after its samples commit.

The WordPress poll and backfill (`integration/services.py`) and the CSV loader (`manage.py load_prices`) all
store through `market.services.sample_upsert_many` and then call `prices_arrived`. It lives in `trading`
because filling resting orders is trading's rule and `market` imports no other app; for the same reason the
CSV loader's command lives in `trading/management/commands/` (its parsing stays in `market/csv_prices.py`).

`bar_closed` is not announced here: `sample_upsert_many` announces it in the storing transaction, bound to the
commit of its once-only mark, with `live=False` for a backfill or history load. A backfill still lets the paper
broker fill resting orders (a stored price after an order's placement is a price it could have had), but its
bars never reach a listener as live, so no strategy decides on history.
"""

from collections.abc import Collection
from dataclasses import dataclass

from market.events import prices_stored_announce
from market.models import Symbol

from .services import orders_execute_resting


@dataclass(frozen=True)
class PricesArrived:
    fills: int
    tickers: list[str]


def prices_arrived(*, symbol_ids: Collection[int], source: str = "wordpress") -> PricesArrived:
    """Fill the resting orders the new prices of `symbol_ids` allow, then announce `prices_stored`.
    Call it after the samples committed, outside a transaction. `source`: where the samples came from."""
    if not symbol_ids:
        return PricesArrived(fills=0, tickers=[])
    fills = orders_execute_resting(symbol_ids=sorted(symbol_ids))
    tickers = sorted(Symbol.objects.filter(pk__in=symbol_ids).values_list("ticker", flat=True))
    prices_stored_announce(tickers=tickers, source=source)
    return PricesArrived(fills=fills, tickers=tickers)
