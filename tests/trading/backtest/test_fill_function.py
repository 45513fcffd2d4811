"""The paper broker and the backtester fill through one function: an order placed live at the paper costs fills
at exactly what `fill_price` / `fill_commission` give the backtester for the same price and costs."""

from decimal import Decimal

import pytest

from trading.broker import Costs, fill_commission, fill_price, paper_costs


@pytest.fixture
def costs(settings):
    settings.PAPER_SLIPPAGE_BPS = Decimal("5")
    settings.PAPER_COMMISSION_PER_SHARE = Decimal("0.005")
    settings.PAPER_COMMISSION_MIN = Decimal("1.00")
    return Costs(Decimal("5"), Decimal("0.005"), Decimal("1.00"))


def test_a_live_fill_equals_the_backtester_fill_function(costs, priced, place):
    assert paper_costs() == costs
    buy = place(qty="300")
    fill = buy.fills.get()
    assert fill.price == fill_price(price=Decimal("250.00"), side="buy", costs=costs) == Decimal("250.1250")
    assert fill.commission == fill_commission(qty=Decimal(300), costs=costs) == Decimal("1.50")
    sell = place(side="sell", qty="10").fills.get()
    assert sell.price == fill_price(price=Decimal("250.00"), side="sell", costs=costs) == Decimal("249.8750")
    assert sell.commission == fill_commission(qty=Decimal(10), costs=costs) == Decimal("1.00")  # the minimum
