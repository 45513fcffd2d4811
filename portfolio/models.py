from decimal import Decimal
from typing import Any

from django.db import models
from django.db.models import Q

MONEY: dict[str, Any] = {"max_digits": 24, "decimal_places": 8}
QTY: dict[str, Any] = {"max_digits": 18, "decimal_places": 4}


class Account(models.Model):
    """The paper trading account. Cash changes only through portfolio/ledger.py, under a row lock."""

    name = models.CharField(max_length=50, unique=True)
    cash = models.DecimalField(**MONEY)
    starting_cash = models.DecimalField(**MONEY)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.CheckConstraint(condition=Q(cash__gte=0), name="account_cash_gte0")]

    def __str__(self) -> str:
        return self.name


class Position(models.Model):
    """Shares held of one symbol. `cost_basis` is what the held shares cost (commissions excluded)."""

    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="positions")
    symbol = models.ForeignKey("market.Symbol", on_delete=models.PROTECT, related_name="positions")
    qty = models.DecimalField(**QTY, default=Decimal("0"))
    cost_basis = models.DecimalField(**MONEY, default=Decimal("0"))
    realized_pl = models.DecimalField(**MONEY, default=Decimal("0"))
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["symbol__ticker"]
        constraints = [
            models.UniqueConstraint(fields=["account", "symbol"], name="position_account_symbol_uniq"),
            models.CheckConstraint(condition=Q(qty__gte=0), name="position_qty_gte0"),
            models.CheckConstraint(condition=Q(cost_basis__gte=0), name="position_cost_basis_gte0"),
        ]

    def __str__(self) -> str:
        return f"{self.symbol_id} x {self.qty}"

    @property
    def avg_entry_price(self) -> Decimal:
        if not self.qty:
            return Decimal("0")
        return (self.cost_basis / self.qty).quantize(Decimal("0.0001"))


class BookPosition(models.Model):
    """Shares of one symbol held by one book: a strategy's id, or "" for manual orders. The account's
    Position is the sum over its books; the ledger updates both in the same transaction."""

    MANUAL = ""

    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="book_positions")
    book = models.CharField(max_length=64, blank=True)
    symbol = models.ForeignKey("market.Symbol", on_delete=models.PROTECT, related_name="book_positions")
    qty = models.DecimalField(**QTY, default=Decimal("0"))
    cost_basis = models.DecimalField(**MONEY, default=Decimal("0"))
    realized_pl = models.DecimalField(**MONEY, default=Decimal("0"))
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["book", "symbol__ticker"]
        constraints = [
            models.UniqueConstraint(fields=["account", "book", "symbol"], name="bookposition_account_book_symbol_uniq"),
            models.CheckConstraint(condition=Q(qty__gte=0), name="bookposition_qty_gte0"),
            models.CheckConstraint(condition=Q(cost_basis__gte=0), name="bookposition_cost_basis_gte0"),
        ]

    def __str__(self) -> str:
        return f"{self.book or 'manual'} {self.symbol_id} x {self.qty}"


class EquitySnapshot(models.Model):
    """The account's value at an instant, taken on a schedule: the equity curve behind drawdown and Sharpe."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="equity_snapshots")
    at = models.DateTimeField()
    equity = models.DecimalField(**MONEY)
    cash = models.DecimalField(**MONEY)

    class Meta:
        ordering = ["account", "at"]
        constraints = [models.UniqueConstraint(fields=["account", "at"], name="equitysnapshot_account_at_uniq")]

    def __str__(self) -> str:
        return f"{self.account_id} {self.at:%Y-%m-%d %H:%M} {self.equity}"


class EquityClose(models.Model):
    """The last equity snapshot of each market-local day: the daily series behind drawdown and Sharpe, so
    performance reads a row a day instead of every snapshot. Written with the snapshot (portfolio/equity.py)."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="equity_closes")
    day = models.DateField()
    at = models.DateTimeField()
    equity = models.DecimalField(**MONEY)

    class Meta:
        ordering = ["account", "day"]
        constraints = [models.UniqueConstraint(fields=["account", "day"], name="equityclose_account_day_uniq")]

    def __str__(self) -> str:
        return f"{self.account_id} {self.day} {self.equity}"
