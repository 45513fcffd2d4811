"""The price sanity band: a new sample further than PRICE_BAND_PERCENT from the symbol's last accepted sample is
stored quarantined (flagged, left out of fills, bars and bar_closed) until the next sample decides:
- the next sample lands within the band of the quarantined one: the move was real, both are accepted;
- it lands within the band of the last accepted one: the quarantined sample was a bad tick and stays out;
- it is far from both: it is quarantined in turn (and waits for its own confirmation).

Only samples newer than every stored sample of their symbol are judged (the live edge); a backfill filling history
behind it is taken as it comes. `sample_upsert_many` calls `band_judge` per symbol inside its transaction.
"""

import datetime as dt
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from django.conf import settings

from .models import PriceSample

logger = logging.getLogger(__name__)

Point = tuple[dt.datetime, Decimal]  # (timestamp, price)


@dataclass
class BandVerdict:
    quarantined: set[dt.datetime] = field(default_factory=set)  # new samples to store flagged
    confirmed: list[tuple[int, dt.datetime]] = field(default_factory=list)  # stored flagged samples now accepted
    confirmed_new: int = 0  # new samples quarantined, then confirmed by a later sample of the same batch


def band_percent() -> Decimal:
    return Decimal(str(settings.PRICE_BAND_PERCENT))


def within_band(price: Decimal, reference: Decimal, percent: Decimal) -> bool:
    return abs(price - reference) * 100 <= percent * reference


def _edge(symbol_id: int) -> tuple[Point | None, tuple[int, dt.datetime, Decimal] | None]:
    """The last accepted sample, and the newest quarantined one after it (every sample after the last accepted is
    quarantined, so together they give the newest stored instant)."""
    samples = PriceSample.objects.filter(symbol_id=symbol_id).order_by("-timestamp")
    accepted = samples.filter(quarantined=False).values_list("timestamp", "price").first()
    flagged = samples.filter(quarantined=True)
    if accepted is not None:
        flagged = flagged.filter(timestamp__gt=accepted[0])
    pending = flagged.values_list("pk", "timestamp", "price").first()
    return accepted, pending


def band_judge(*, symbol_id: int, new: Sequence[Point]) -> BandVerdict:
    """The verdict on the new samples of one symbol (any order)."""
    verdict = BandVerdict()
    percent = band_percent()
    if percent <= 0 or not new:
        return verdict
    accepted, stored_pending = _edge(symbol_id)
    newest_stored = max(
        [t for t in (accepted and accepted[0], stored_pending and stored_pending[1]) if t], default=None
    )
    pending: tuple[int | None, dt.datetime, Decimal] | None = stored_pending
    for at, price in sorted(p for p in new if newest_stored is None or p[0] > newest_stored):
        if accepted is None:
            accepted = (at, price)
        elif pending is not None and within_band(price, pending[2], percent):
            if pending[0] is None:
                verdict.quarantined.discard(pending[1])
                verdict.confirmed_new += 1
            else:
                verdict.confirmed.append((pending[0], pending[1]))
            accepted, pending = (at, price), None
        elif within_band(price, accepted[1], percent):
            accepted, pending = (at, price), None
        else:
            verdict.quarantined.add(at)
            pending = (None, at, price)
    return verdict
