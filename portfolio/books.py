"""Positions per book: a strategy's own shares (book = its strategy_id) and the manual book ("").

Written only here, by the ledger's booking of a fill, in the fill's transaction (the caller holds the account
and position locks). The account Position is the sum of its books: a strategy's sale removes that book's own
average cost, and the account's cost basis moves by the same amount. A strategy sells only what its book holds;
any other sale (manual, liquidation) takes the manual book first, then the strategy books in id order.
"""

from dataclasses import dataclass
from decimal import Decimal
from typing import cast

from market.selectors import price_latest_list

from .models import BookPosition, Position

MANUAL = BookPosition.MANUAL
PLACES = Decimal("0.00000001")


class BookShort(Exception):
    def __init__(self, book: str, held: Decimal, wanted: Decimal):
        super().__init__(f"book {book!r} holds {held}, cannot sell {wanted}")
        self.book, self.held, self.wanted = book, held, wanted


@dataclass(frozen=True)
class BookMove:
    cost_removed: Decimal  # what the sold shares cost (0 for a buy)


def _rows(position: Position) -> dict[str, BookPosition]:
    rows = {
        row.book: row
        for row in BookPosition.objects.select_for_update().filter(
            account_id=position.account_id, symbol_id=position.symbol_id
        )
    }
    # Shares booked before books existed (or by hand) belong to the manual book.
    others_qty = sum((r.qty for b, r in rows.items() if b != MANUAL), Decimal(0))
    others_cost = sum((r.cost_basis for b, r in rows.items() if b != MANUAL), Decimal(0))
    manual = rows.get(MANUAL)
    if manual is None or manual.qty != position.qty - others_qty:
        manual = manual or BookPosition(account_id=position.account_id, symbol_id=position.symbol_id, book=MANUAL)
        manual.qty = max(position.qty - others_qty, Decimal(0))
        manual.cost_basis = max(position.cost_basis - others_cost, Decimal(0))
        manual.save()
        rows[MANUAL] = manual
    return rows


def _take(row: BookPosition, qty: Decimal, price: Decimal, commission: Decimal) -> Decimal:
    cost = row.cost_basis if qty == row.qty else (row.cost_basis * qty / row.qty).quantize(PLACES)
    row.qty -= qty
    row.cost_basis -= cost
    row.realized_pl += qty * price - cost - commission
    row.save(update_fields=["qty", "cost_basis", "realized_pl", "updated_at"])
    return cost


def book_trade(
    *, position: Position, book: str, side: str, qty: Decimal, price: Decimal, commission: Decimal
) -> BookMove:
    """Book a fill to `book` (before the account position changes). BookShort when a strategy's book holds
    fewer shares than it sells; nothing is saved then."""
    rows = _rows(position)
    if side == "buy":
        row = rows.get(book) or BookPosition(account_id=position.account_id, symbol_id=position.symbol_id, book=book)
        row.qty += qty
        row.cost_basis += qty * price
        row.realized_pl -= commission
        row.save()
        return BookMove(Decimal(0))
    if book != MANUAL:
        own = rows.get(book)
        held = own.qty if own else Decimal(0)
        if held < qty:
            raise BookShort(book, held, qty)
        # a missing book holds 0, which the line above refuses for any fill (qty > 0)
        return BookMove(_take(cast(BookPosition, own), qty, price, commission))
    left, cost = qty, Decimal(0)
    for name in [MANUAL, *sorted(b for b in rows if b != MANUAL)]:
        row = rows[name]
        if left <= 0 or row.qty <= 0:
            continue
        part = min(left, row.qty)
        cost += _take(row, part, price, commission if left == qty else Decimal(0))
        left -= part
    if left > 0:
        raise BookShort(MANUAL, qty - left, qty)
    return BookMove(cost)


def book_of(*, source: str, strategy_id: str) -> str:
    """The book an order's fills belong to."""
    return strategy_id if source == "strategy" else MANUAL


def book_unrealized_pl(*, account_id: int, book: str) -> Decimal:
    """The book's open P&L at the latest stored prices (a symbol without a price counts at its cost)."""
    return books_unrealized_pl(account_id=account_id, books=[book]).get(book, Decimal(0))


def books_unrealized_pl(*, account_id: int, books: list[str]) -> dict[str, Decimal]:
    """`book_unrealized_pl` of several books in two queries (the latest prices, the books' positions)."""
    prices = {p.ticker: p.price for p in price_latest_list(active_only=False)}
    totals = {book: Decimal(0) for book in books}
    rows = BookPosition.objects.filter(account_id=account_id, book__in=books, qty__gt=0).values_list(
        "book", "qty", "cost_basis", "symbol__ticker"
    )
    for book, qty, cost, ticker in rows:
        price = prices.get(ticker)
        totals[book] += qty * price - cost if price is not None else Decimal(0)
    return totals
