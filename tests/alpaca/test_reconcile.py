"""Issue 16: positions and cash reconciled against Alpaca's account; a difference is an alert, not an overwrite."""

import datetime as dt
from decimal import Decimal

from integration.alpaca_reconcile import account_reconcile, broker_mismatch_get
from portfolio.models import Account, Position
from tradingrobot.ops.alerts import CONDITIONS

from .test_faults import submit  # noqa: F401 - the fixture


def test_agreeing_account_is_no_alert(fake, stream, alpaca, submit):  # noqa: F811
    fake.set_price("TSLA", "250")
    submit(ticker="TSLA", side="buy", qty="4")
    stream.settle()
    assert account_reconcile(client=alpaca.client) == [] == broker_mismatch_get()


def test_difference_is_an_alert_and_nothing_is_overwritten(fake, stream, alpaca, submit, market_open):  # noqa: F811
    fake.set_price("TSLA", "250")
    submit(ticker="TSLA", side="buy", qty="4")
    stream.settle()
    fake.positions["TSLA"][0] += 1  # a share bought at Alpaca outside the robot
    fake.cash -= 250
    problems = account_reconcile(client=alpaca.client)
    assert problems == ["TSLA: 4 shares here, 5 at Alpaca", "cash: 99000 here, 98750 at Alpaca"]
    assert Position.objects.get(symbol__ticker="TSLA").qty == 4 and Account.objects.get().cash == Decimal("99000")
    [condition] = [c for c in CONDITIONS if c.name == "broker_mismatch"]
    assert condition.evaluate(dt.datetime.now(dt.UTC)) == "ledger and Alpaca's account differ: " + "; ".join(problems)
