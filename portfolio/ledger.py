"""The ledger: the one module that writes accounts and positions (cash and share arithmetic).

Trading decides what executes and at what price; this module books it. Every function here expects the
caller's transaction to hold the account and position row locks (portfolio/lock_objects.py).
"""

from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.db import IntegrityError, transaction

from tradingrobot.error_codes import ErrorCode
from tradingrobot.write_batch import row_update

from .books import BookRows, BookShort, book_rows_open
from .models import Account, BookPosition, Position

DEFAULT_ACCOUNT = "paper"
MONEY_PLACES = Decimal("0.00000001")


class LedgerRefusal(Exception):
    """The booking would overdraw the account or sell shares not held. Nothing was saved; the account and
    position objects in memory may have changed, so a caller that goes on reloads them."""

    def __init__(self, code: ErrorCode, reason: str):
        super().__init__(reason)
        self.code = code
        self.reason = reason


@dataclass(frozen=True)
class Booking:
    side: str  # "buy" or "sell"
    ticker: str  # for messages only
    qty: Decimal
    price: Decimal
    commission: Decimal
    book: str = ""  # whose shares: a strategy's id, or "" (manual); see portfolio/books.py


def account_get_or_create(*, name: str = DEFAULT_ACCOUNT) -> Account:
    account = Account.objects.filter(name=name).first()
    if account is not None:
        return account
    try:
        with transaction.atomic():
            return Account.objects.create(name=name, cash=settings.STARTING_CASH, starting_cash=settings.STARTING_CASH)
    except IntegrityError:  # created by a concurrent first request
        return Account.objects.get(name=name)


def position_create(*, account: Account, symbol_id: int) -> Position:
    """An empty position. The caller holds the account lock, so no other transaction creates it meanwhile."""
    return Position.objects.create(account=account, symbol_id=symbol_id)


def trade_book(
    *, account: Account, position: Position, booking: Booking, book_rows: list[BookPosition] | None = None
) -> Decimal:
    """Move cash and shares for an execution; returns the P&L it realizes (after commission).
    A buy costs qty x price + commission; a sell removes the shares' average cost and credits the proceeds.
    `book_rows`: the position's book rows when the caller read them locked (books.book_rows_locked)."""
    ledger = ledger_open(account=account, position=position, book_rows=book_rows)
    realized = ledger.book(booking)
    ledger.save()
    return realized


def ledger_open(*, account: Account, position: Position, book_rows: list[BookPosition] | None = None) -> "LedgerBatch":
    """Several executions on one position in one transaction: book each in memory, then `save` writes the
    account, the position and the changed book rows once (the caller holds the account and position locks)."""
    return LedgerBatch(account, position, book_rows_open(position, book_rows))


class LedgerBatch:
    def __init__(self, account: Account, position: Position, rows: BookRows):
        self.account, self.position, self.rows = account, position, rows

    def book(self, booking: Booking) -> Decimal:
        """The rule of one execution: every check before any change, so a LedgerRefusal leaves the batch as
        it was and the next booking can go on."""
        account, position = self.account, self.position
        notional = booking.qty * booking.price
        commission = booking.commission
        if booking.side == "buy":
            if notional + commission > account.cash:
                raise LedgerRefusal(
                    ErrorCode.INSUFFICIENT_CASH,
                    f"Buying {booking.qty} {booking.ticker} at {booking.price} needs {notional + commission:.2f}, "
                    f"but only {account.cash:.2f} cash is left.",
                )
            self._book(booking)
            account.cash -= notional + commission
            position.qty += booking.qty
            position.cost_basis += notional
            realized = -commission
        else:
            if booking.qty > position.qty:
                raise LedgerRefusal(
                    ErrorCode.INSUFFICIENT_POSITION, f"Cannot sell {booking.qty} {booking.ticker}: {position.qty} held."
                )
            if account.cash + notional - commission < 0:
                raise LedgerRefusal(ErrorCode.INSUFFICIENT_CASH, "The commission exceeds the cash left.")
            cost_removed = self._book(booking)
            position.qty -= booking.qty
            position.cost_basis -= cost_removed
            realized = notional - cost_removed - commission
            account.cash += notional - commission
        position.realized_pl += realized
        return realized

    def _book(self, booking: Booking) -> Decimal:
        """Book the execution to its book (before the account position changes); the cost a sale removes."""
        try:
            move = self.rows.apply(
                book=booking.book,
                side=booking.side,
                qty=booking.qty,
                price=booking.price,
                commission=booking.commission,
            )
        except BookShort as short:
            raise LedgerRefusal(
                ErrorCode.INSUFFICIENT_POSITION,
                f"Cannot sell {booking.qty} {booking.ticker} for {booking.book}: its own position is {short.held}.",
            ) from short
        return move.cost_removed

    def save(self) -> None:
        """In the open write batch (tradingrobot/write_batch.py) when there is one, else at once."""
        self.rows.save()
        row_update(self.account, ["cash", "updated_at"])
        row_update(self.position, ["qty", "cost_basis", "realized_pl", "updated_at"])
