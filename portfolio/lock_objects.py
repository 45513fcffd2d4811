"""Row locks of the ledger. Callers take them in the order trading/lock_objects.py documents:
trading state -> account -> orders -> positions."""

from .ledger import DEFAULT_ACCOUNT, account_get_or_create, position_create
from .models import Account, Position


def account_lock(*, name: str = DEFAULT_ACCOUNT) -> Account:
    """The account row, locked until the end of the caller's transaction."""
    account = Account.objects.select_for_update().filter(name=name).first()
    if account is None:
        account_get_or_create(name=name)
        account = Account.objects.select_for_update().get(name=name)
    return account


def position_lock(*, account: Account, symbol_id: int) -> Position:
    """The position row, locked. Callers hold the account lock, so creating it cannot race."""
    position = Position.objects.select_for_update().filter(account=account, symbol_id=symbol_id).first()
    if position is None:
        position = position_create(account=account, symbol_id=symbol_id)
    return position
