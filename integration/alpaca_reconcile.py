"""Positions and cash against Alpaca's account, on the stream's start and on a schedule (ALPACA_RECONCILE_SECONDS).
A difference is an alert (logged, kept for the ops `broker_mismatch` condition), never a silent overwrite: the
ledger changes only through fills."""

import logging
from decimal import Decimal

from alpaca.trading.client import TradingClient
from alpaca.trading.models import Position as AlpacaPosition
from alpaca.trading.models import TradeAccount

from portfolio.ledger import account_get_or_create
from portfolio.models import Position

from .broker_mismatch import broker_mismatch_get, broker_mismatch_record

__all__ = ["account_reconcile", "broker_mismatch_get"]

log = logging.getLogger(__name__)


def account_reconcile(*, client: TradingClient) -> list[str]:
    """What differs between our ledger and Alpaca's account (empty when they agree)."""
    theirs = client.get_account()
    assert isinstance(theirs, TradeAccount)
    held_there = client.get_all_positions()
    there = {p.symbol: Decimal(str(p.qty)) for p in held_there if isinstance(p, AlpacaPosition)}
    here = {p.symbol.ticker: p.qty for p in Position.objects.filter(qty__gt=0).select_related("symbol")}
    problems = [
        f"{ticker}: {_plain(here.get(ticker))} shares here, {_plain(there.get(ticker))} at Alpaca"
        for ticker in sorted(set(here) | set(there))
        if here.get(ticker, Decimal(0)) != there.get(ticker, Decimal(0))
    ]
    cash_here, cash_there = account_get_or_create().cash, Decimal(str(theirs.cash))
    if cash_here != cash_there:
        problems.append(f"cash: {_plain(cash_here)} here, {_plain(cash_there)} at Alpaca")
    broker_mismatch_record(problems)
    if problems:
        log.error("ALERT broker mismatch: %s", "; ".join(problems))
    return problems


def _plain(value: Decimal | None) -> str:
    return format((value or Decimal(0)).normalize(), "f")
