"""The live page's other panels in the real browser (same daphne, Chromium and fixtures as test_browser.py):
strategies (toggle with confirm, live decisions), backtests (runs, report and picture, the start form), the
equity curve against the API, the cancel button against the ledger, and the market-data source indicator."""

import datetime as dt
from decimal import Decimal

import pytest
import time_machine

from market.events import market_data_switched_announce
from market.models import PriceSample, Symbol
from market.rollup import bucket_of
from market.services import SampleIn, sample_upsert_many
from portfolio.equity import equity_snapshot_take
from portfolio.models import Account, EquitySnapshot
from trading.backtest import services as backtests
from trading.backtest.models import BacktestRun
from trading.engine.execution import bar_evaluate
from trading.engine.services import strategy_create
from trading.models import Order, Strategy, StrategyDecision
from trading.order_request import order_request_parse
from trading.prices import prices_arrived
from trading.services import order_place

from .browser_kit import ARTIFACTS, DESKTOP, PHONE, open_page, store_price, wait_live

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

SYNTHETIC = {
    "kind": "sma_crossover",
    "symbols": ["TSLA"],
    "timeframe": "5Min",
    "params": {"fast": 10, "slow": 30},
    "start": "2026-03-02",
    "end": "2026-03-06",
    "data": "synthetic",
    "seed": 3,
}


def _no_errors(watch) -> None:
    assert watch.console_errors == []
    assert watch.foreign() == []


def test_strategies_toggle_with_confirm_and_a_live_decision(browser, server, make_user, priced):
    strategy_create(strategy_id="S-TSLA", ticker="TSLA", fields={"mode": "signal"}, by="tests")
    make_user("op", staff=True, halt=True)
    page, watch = open_page(browser, server, "op")
    wait_live(page)
    row = '#strategies tr[data-strategy-id="S-TSLA"]'
    page.wait_for_selector(f'{row}[data-enabled="false"]')
    assert page.locator(f"{row} td.mode").inner_text() == "signal"
    assert page.locator(f"{row} td.decision").inner_text() == "—"
    assert page.locator(f"{row} td.pnl").inner_text() == "—"

    page.once("dialog", lambda dialog: dialog.dismiss())  # the confirm step: declining changes nothing
    page.click("#strategy-S-TSLA")
    page.wait_for_timeout(300)
    assert Strategy.objects.get(strategy_id="S-TSLA").enabled is False
    assert page.locator("#strategy-S-TSLA").is_checked() is False

    asked = []
    page.once("dialog", lambda dialog: (asked.append(dialog.message), dialog.accept()))
    page.click("#strategy-S-TSLA")
    page.wait_for_selector(f'{row}[data-enabled="true"]', timeout=5000)
    assert asked == ["Enable strategy S-TSLA (signal)?"]
    assert Strategy.objects.get(strategy_id="S-TSLA").enabled is True

    # The engine decides on a closed bar in this process; its strategy_decision frame updates the row.
    strategy = Strategy.objects.get(strategy_id="S-TSLA")
    _, end = bucket_of("5Min", dt.datetime.now(dt.UTC) - dt.timedelta(minutes=10))
    assert bar_evaluate(ticker="TSLA", timeframe="5Min", bar_end=end, strategy_pks=[strategy.pk]) == 1
    decision = StrategyDecision.objects.get(strategy=strategy)
    page.wait_for_selector(f'{row}[data-outcome="{decision.outcome}"]', timeout=2000)
    shown = page.locator(f"{row} td.decision").inner_text()
    assert shown.startswith(f"{decision.outcome} — {decision.reason}") and decision.reason

    page.click(f'{row} button:has-text("Journal")')
    page.wait_for_selector(f'#journal[data-strategy-id="S-TSLA"] tr[data-decision-id="{decision.pk}"]')
    assert "latest 1 of 1" in page.locator("#journal h3").inner_text()
    _no_errors(watch)


def test_backtests_list_report_picture_and_the_start_form(browser, server, make_user, settings, tmp_path):
    settings.BACKTEST_REPORT_DIR = tmp_path / "backtests"  # written here, read by daphne (absolute paths)
    done = backtests.backtest_execute(run_id=backtests.backtest_create(raw=SYNTHETIC).pk)
    make_user("op", staff=True, halt=True)
    page, watch = open_page(browser, server, "op")
    wait_live(page)
    run = f'#backtest-list article[data-run-id="{done.pk}"]'
    page.wait_for_selector(f'{run}[data-status="done"]')
    metrics, shown = done.metrics, page.locator(f"{run} .metrics").inner_text()
    for part in (
        f"ROI {metrics['roi']:.2f} %",
        f"max drawdown {metrics['max_drawdown']:.2f} %",
        f"win rate {metrics['win_rate']:.1f} %",
        f"trades {metrics['total_trades']}",
    ):
        assert part in shown, (part, shown)
    link = page.locator(f"{run} a")
    assert link.get_attribute("href") == f"/dashboard/api/backtests/{done.pk}/report"
    page.wait_for_function(f"document.querySelector('{run} img').naturalWidth > 0")  # the PNG loaded and decoded
    report = page.request.get(f"{server.base}{link.get_attribute('href')}")
    assert report.status == 200 and "<html" in report.text().lower()

    page.select_option("#bt-kind", "sma_crossover")
    page.select_option("#bt-symbol", "TSLA")
    page.select_option("#bt-data", "synthetic")
    page.fill("#bt-start", "2026-03-02")
    page.fill("#bt-end", "2026-03-06")
    page.click("#bt-start-run")
    page.wait_for_function("/Backtest \\d+ queued/.test(document.querySelector('#backtest-message').textContent)")
    started = BacktestRun.objects.exclude(pk=done.pk).get()
    assert (started.params["kind"], started.params["symbols"], started.params["data"]) == (
        "sma_crossover",
        ["TSLA"],
        "synthetic",
    )
    page.wait_for_selector(f'#backtest-list article[data-run-id="{started.pk}"][data-status="queued"]')
    backtests.backtest_execute(run_id=started.pk)  # the worker's part, here; the page re-reads while it runs
    page.wait_for_selector(f'#backtest-list article[data-run-id="{started.pk}"][data-status="done"]', timeout=5000)

    _no_errors(watch)

    page.fill("#bt-start", "2026-03-06")
    page.fill("#bt-end", "2026-03-02")  # backwards: the API's 400 message is shown, nothing stored
    page.click("#bt-start-run")
    page.wait_for_function("document.querySelector('#backtest-message').textContent.includes('is before start')")
    assert BacktestRun.objects.count() == 2
    # Chromium logs every 4xx answer; that refusal is the only one.
    assert watch.console_errors == ["Failed to load resource: the server responded with a status of 400 (Bad Request)"]
    page.context.close()
    panel_screenshots(browser, server)


def panel_screenshots(browser, server) -> None:
    """With a strategy and two finished runs: no sideways scrolling at phone width; pictures as test artifacts."""
    strategy_create(strategy_id="STRATEGY-TSLA", ticker="TSLA", fields={"enabled": True}, by="tests")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for name, viewport in (("panels-desktop", DESKTOP), ("panels-phone", PHONE)):
        page, watch = open_page(browser, server, "op", viewport=viewport)
        wait_live(page)
        page.wait_for_selector('#strategies tr[data-strategy-id="STRATEGY-TSLA"]')
        pictures = page.locator("#backtest-list img")
        pictures.first.wait_for(state="attached")
        for picture in pictures.all():  # lazy: loaded once scrolled to
            picture.scroll_into_view_if_needed()
        page.wait_for_function("[...document.querySelectorAll('#backtest-list img')].every(i => i.naturalWidth > 0)")
        widest = page.evaluate("document.documentElement.scrollWidth")
        assert widest <= viewport["width"], f"the page is {widest} px wide on a {viewport['width']} px screen"
        page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
        _no_errors(watch)
        page.context.close()


def test_equity_curve_draws_the_api_numbers(browser, server, make_user, priced):
    order_place(request=order_request_parse(ticker="TSLA", side="buy", qty="4"), placed_by="tests")
    start = dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(minutes=3)
    for minute, price in enumerate(("250.00", "255.50", "248.25")):
        store_price("TSLA", price)
        with time_machine.travel(start + dt.timedelta(minutes=minute), tick=False):
            equity_snapshot_take()  # what the beat task records, at three instants
    snapshots = list(EquitySnapshot.objects.order_by("at").values_list("at", "equity"))
    make_user("op", staff=True)
    page, watch = open_page(browser, server, "op")
    wait_live(page)
    page.wait_for_function("window.dashboard.charts.equity.data().length > 0")
    drawn = page.evaluate("window.dashboard.charts.equity.data().map(p => [p.time, p.value])")
    api = page.request.get(f"{server.base}/dashboard/api/equity").json()["points"]
    from_api = [[int(dt.datetime.fromisoformat(p["time"]).timestamp()), float(p["equity"])] for p in api]
    assert drawn == from_api
    assert drawn == [[int(at.timestamp()), float(equity)] for at, equity in snapshots]
    latest = f"${snapshots[-1][1]:,.2f}"
    assert page.locator("#equity-summary").inner_text() == f"{len(snapshots)} snapshots, latest {latest}."
    _no_errors(watch)


def test_cancel_button_cancels_in_the_ledger_and_the_row_updates(browser, server, make_user, priced):
    account = Account.objects.get()
    cash_before = account.cash
    resting, _ = order_place(
        request=order_request_parse(ticker="TSLA", side="buy", qty="2", type="limit", limit_price="100"),
        placed_by="tests",
    )
    assert resting.status == Order.Status.ACCEPTED
    make_user("op", staff=True, halt=True)  # the order is another principal's: cancelling it takes the page's admin
    page, watch = open_page(browser, server, "op")
    wait_live(page)
    row = f'#orders tr[data-order-id="{resting.pk}"]'
    page.wait_for_selector(f'{row}[data-status="accepted"]')
    page.click(f"{row} button[aria-label^='Cancel order {resting.pk}']")
    page.wait_for_selector(f'{row}[data-status="canceled"]', timeout=2000)
    assert page.locator(f"{row} button").count() == 0
    assert page.locator("#orders-message").inner_text() == f"Order {resting.pk} canceled."
    resting.refresh_from_db()
    account.refresh_from_db()
    assert (resting.status, resting.filled_qty, account.cash) == (Order.Status.CANCELED, Decimal(0), cash_before)
    _no_errors(watch)


def test_market_data_source_indicator_follows_a_fallback_live(browser, server, make_user, priced):
    make_user("op", staff=True)
    page, watch = open_page(browser, server, "op")
    wait_live(page)
    page.wait_for_selector('#prices tr[data-symbol="TSLA"][data-source="manual"]')

    # What integration.sources.fallback does when WordPress is down: fallback samples, then the switch event.
    nvda = Symbol.objects.get(ticker="NVDA")
    at = dt.datetime.now(dt.UTC).replace(second=0, microsecond=0)
    sample_upsert_many(samples=[SampleIn(nvda.pk, at, Decimal("180.00"), 0)], source=PriceSample.Source.ALPACA)
    prices_arrived(symbol_ids=[nvda.pk], source="alpaca")
    market_data_switched_announce(source="alpaca", previous="wordpress", reason="wordpress breaker open")
    page.wait_for_selector('#feed[data-source="alpaca"][data-fallback="true"]', timeout=2000)
    assert page.locator("#feed").inner_text() == (
        "Market data: FALLBACK alpaca (switched from wordpress: wordpress breaker open)"
    )
    page.wait_for_selector('#prices tr[data-symbol="NVDA"][data-source="alpaca"] td.source.fallback', timeout=2000)
    assert page.locator('#prices tr[data-symbol="TSLA"]').get_attribute("data-source") == "manual"
    page.reload()  # the status document says the same after a reload
    page.wait_for_selector('#feed[data-source="alpaca"][data-fallback="true"]', timeout=5000)
    assert page.locator("#feed").inner_text() == "Market data: FALLBACK alpaca"

    # WordPress is back with the same minute: its sample replaces the fallback's, and the store says so.
    sample_upsert_many(samples=[SampleIn(nvda.pk, at, Decimal("180.50"), 0)], source=PriceSample.Source.WORDPRESS)
    prices_arrived(symbol_ids=[nvda.pk], source="wordpress")
    market_data_switched_announce(source="wordpress", previous="alpaca", reason="wordpress answered with fresh rows")
    page.wait_for_selector('#feed[data-source="wordpress"][data-fallback="false"]', timeout=2000)
    page.wait_for_selector('#prices tr[data-symbol="NVDA"][data-source="wordpress"]', timeout=2000)
    assert PriceSample.objects.filter(symbol=nvda).count() == 1
    _no_errors(watch)
