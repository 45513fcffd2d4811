"""Positions per book: a strategy's own shares (book = its strategy_id) and the manual book ("").

Written only here, by the ledger's booking of a fill, in the fill's transaction (the caller holds the account
and position locks). The account Position is the sum of its books: a strategy's sale removes that book's own
average cost, and the account's cost basis moves by the same amount. A strategy sells only what its book holds;
any other sale (manual, liquidation) takes the manual book first, then the strategy books in id order.
"""

from dataclasses import dataclass, field
from decimal import Decimal
from typing import cast

from django.db.models import QuerySet
from django.utils import timezone

from market.selectors import price_latest_list
from tradingrobot.write_batch import batching, row_update

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


def book_rows_locked(*, account_id: int, symbol_id: int) -> QuerySet[BookPosition]:
    """The position's book rows with their lock (taken after the position's: the ledger's lock order). A caller
    may send its compiled SQL with its own query, in one round trip (trading/lock_objects.py)."""
    return BookPosition.objects.select_for_update().filter(account_id=account_id, symbol_id=symbol_id)


def book_rows_lock(position: Position, read: list[BookPosition] | None = None) -> dict[str, BookPosition]:
    """The position's book rows, locked, the manual book reconciled with the account position. `read`: the rows
    the caller already read with `book_rows_locked`, in the same transaction."""
    if read is None:
        read = list(book_rows_locked(account_id=position.account_id, symbol_id=position.symbol_id))
    rows = {row.book: row for row in read}
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


@dataclass
class BookRows:
    """A position's book rows, changed in memory by `apply` and written by `save` (one statement per kind)."""

    position: Position
    rows: dict[str, BookPosition]
    dirty: set[str] = field(default_factory=set)

    def apply(self, *, book: str, side: str, qty: Decimal, price: Decimal, commission: Decimal) -> BookMove:
        """Book a fill to `book` (before the account position changes). BookShort when the book(s) hold fewer
        shares than it sells; nothing is changed then."""
        if side == "buy":
            row = self.rows.get(book)
            if row is None:
                row = BookPosition(account_id=self.position.account_id, symbol_id=self.position.symbol_id, book=book)
                self.rows[book] = row
            row.qty += qty
            row.cost_basis += qty * price
            row.realized_pl -= commission
            self.dirty.add(book)
            return BookMove(Decimal(0))
        if book != MANUAL:
            own = self.rows.get(book)
            held = own.qty if own else Decimal(0)
            if held < qty:
                raise BookShort(book, held, qty)
            # a missing book holds 0, which the line above refuses for any fill (qty > 0)
            return BookMove(self._take(cast(BookPosition, own), qty, price, commission))
        order = [MANUAL, *sorted(b for b in self.rows if b != MANUAL)]
        total = sum((self.rows[name].qty for name in order if self.rows[name].qty > 0), Decimal(0))
        if total < qty:
            raise BookShort(MANUAL, total, qty)
        left, cost = qty, Decimal(0)
        for name in order:
            row = self.rows[name]
            if left <= 0 or row.qty <= 0:
                continue
            part = min(left, row.qty)
            cost += self._take(row, part, price, commission if left == qty else Decimal(0))
            left -= part
        return BookMove(cost)

    def _take(self, row: BookPosition, qty: Decimal, price: Decimal, commission: Decimal) -> Decimal:
        cost = row.cost_basis if qty == row.qty else (row.cost_basis * qty / row.qty).quantize(PLACES)
        row.qty -= qty
        row.cost_basis -= cost
        row.realized_pl += qty * price - cost - commission
        self.dirty.add(row.book)
        return cost

    def save(self) -> None:
        changed = [self.rows[name] for name in sorted(self.dirty)]
        new = [row for row in changed if row.pk is None]
        old = [row for row in changed if row.pk is not None]
        if new:
            BookPosition.objects.bulk_create(new)
        if old:
            at = timezone.now()
            for row in old:
                row.updated_at = at
            if batching():  # one statement per row, all in the batch's one round trip
                for row in old:
                    row_update(row, ["qty", "cost_basis", "realized_pl", "updated_at"])
            else:
                BookPosition.objects.bulk_update(old, ["qty", "cost_basis", "realized_pl", "updated_at"])
        self.dirty.clear()


def book_rows_open(position: Position, read: list[BookPosition] | None = None) -> BookRows:
    return BookRows(position, book_rows_lock(position, read))


def book_trade(
    *, position: Position, book: str, side: str, qty: Decimal, price: Decimal, commission: Decimal
) -> BookMove:
    """Book one fill to `book` and save it (see BookRows.apply)."""
    rows = book_rows_open(position)
    move = rows.apply(book=book, side=side, qty=qty, price=price, commission=commission)
    rows.save()
    return move


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
