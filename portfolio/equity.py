"""The equity curve: the account's value at an instant, recorded on a schedule (the one writer of EquitySnapshot)."""

from django.db import transaction

from market.clock import now

from .models import Account, EquitySnapshot
from .selectors import portfolio_get


def equity_snapshot_take(*, account: Account | None = None) -> EquitySnapshot:
    view = portfolio_get(account=account)
    with transaction.atomic():
        snapshot, _ = EquitySnapshot.objects.update_or_create(
            account=view.account,
            at=now().replace(microsecond=0),
            defaults={"equity": view.portfolio_value, "cash": view.account.cash},
        )
    return snapshot
