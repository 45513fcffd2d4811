"""Account and position rows, created on first use and locked for every balance change."""

from django.conf import settings
from django.db import IntegrityError, transaction

from .models import Account, Position

DEFAULT_ACCOUNT = "paper"


def account_get_or_create(*, name: str = DEFAULT_ACCOUNT) -> Account:
    account = Account.objects.filter(name=name).first()
    if account is not None:
        return account
    try:
        with transaction.atomic():
            return Account.objects.create(name=name, cash=settings.STARTING_CASH, starting_cash=settings.STARTING_CASH)
    except IntegrityError:  # created by a concurrent first request
        return Account.objects.get(name=name)


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
        position = Position.objects.create(account=account, symbol_id=symbol_id)
    return position
