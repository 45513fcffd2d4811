"""The equity curve: the account's value at an instant, recorded on a schedule, and each day's last value
(the one writer of EquitySnapshot and EquityClose)."""

from django.db import transaction

from market.clock import market_clock, now

from .models import Account, EquityClose, EquitySnapshot
from .selectors import portfolio_get


def equity_snapshot_take(*, account: Account | None = None) -> EquitySnapshot:
    view = portfolio_get(account=account)
    with transaction.atomic():
        snapshot, _ = EquitySnapshot.objects.update_or_create(
            account=view.account,
            at=now().replace(microsecond=0),
            defaults={"equity": view.portfolio_value, "cash": view.account.cash},
        )
        equity_close_record(snapshot=snapshot)
    return snapshot


def equity_close_record(*, snapshot: EquitySnapshot) -> None:
    """Make `snapshot` its day's close unless a later snapshot of that day already is."""
    day = market_clock().local_date(snapshot.at)
    close, created = EquityClose.objects.get_or_create(
        account_id=snapshot.account_id, day=day, defaults={"at": snapshot.at, "equity": snapshot.equity}
    )
    if not created and close.at <= snapshot.at:
        EquityClose.objects.filter(pk=close.pk).update(at=snapshot.at, equity=snapshot.equity)
