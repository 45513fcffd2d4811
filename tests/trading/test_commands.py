from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from trading.models import Order, TradingState


def run(*args) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_trade_command_uses_the_order_service(priced):
    output = run("trade", "tsla", "buy", "2")
    order = Order.objects.get()
    assert output == f"order {order.pk}: buy 2 TSLA filled at 250.0000\n"
    assert order.source == Order.Source.COMMAND


def test_trade_command_reports_bad_input_and_rejections(priced):
    with pytest.raises(CommandError, match="invalid_quantity"):
        run("trade", "TSLA", "buy", "-1")
    with pytest.raises(CommandError, match="insufficient_position"):
        run("trade", "TSLA", "sell", "1")


def test_halt_and_resume_commands(priced, place):
    place(type="limit", limit_price="1")
    assert "1 open order(s) canceled" in run("halt_trading", "--reason", "drill")
    assert TradingState.objects.get().halted
    assert run("halt_trading", "--resume") == "Trading resumed\n"
    assert not TradingState.objects.get().halted


def test_housekeeping_task_expires_and_fills(priced, place, time_machine):
    import datetime as dt

    from trading.tasks import orders_housekeeping

    place(type="limit", limit_price="1")
    time_machine.move_to(dt.datetime(2025, 12, 16, 21, 0, 1, tzinfo=dt.UTC), tick=False)
    assert orders_housekeeping() == {"expired": 1, "filled": 0}
