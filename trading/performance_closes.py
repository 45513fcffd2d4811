"""The account's daily closes (portfolio.EquityClose) kept per process: a report reads only the closes from the
last day it holds on (today's, rewritten by every snapshot, and any newer), not the whole year again.

Closes of earlier days are final: their one writer (portfolio/equity.py) records a snapshot taken now, so it
rewrites today's close only. Everything is read again once PERFORMANCE_CACHE_SECONDS have passed since the last
full read, so a close changed any other way is seen within that age, as the report memo sees any write.
"""

import datetime as dt
import threading
import time
from decimal import Decimal

from django.conf import settings

from portfolio.models import Account, EquityClose

Close = tuple[dt.date, dt.datetime, Decimal]


def _read(account: Account, since: dt.date | None = None) -> list[Close]:
    closes = EquityClose.objects.filter(account=account)
    if since is not None:
        closes = closes.filter(day__gte=since)
    return list(closes.order_by("day").values_list("day", "at", "equity"))


class ClosesMemo:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: dict[int, tuple[float, list[Close]]] = {}

    def get(self, account: Account) -> list[tuple[dt.datetime, Decimal]]:
        """The account's closes, oldest first, as (at, equity)."""
        max_age = settings.PERFORMANCE_CACHE_SECONDS
        with self._lock:
            entry = self._entries.get(account.pk)
        if max_age <= 0:
            closes = _read(account)
        elif entry is not None and entry[1] and time.monotonic() - entry[0] < max_age:
            last_day = entry[1][-1][0]
            closes = [c for c in entry[1] if c[0] < last_day] + _read(account, since=last_day)
            entry = (entry[0], closes)
        else:
            closes = _read(account)
            entry = (time.monotonic(), closes)
        if max_age > 0 and entry is not None:
            with self._lock:
                self._entries[account.pk] = entry
        return [(at, equity) for _day, at, equity in closes]

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
