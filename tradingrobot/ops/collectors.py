"""Series read at scrape time from the database (and the shared cache): right whichever process answers."""

import logging

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from market.clock import now
from trading.services import trading_state_get

from . import selectors

logger = logging.getLogger(__name__)


def _gauge(name: str, documentation: str, value: float | None = None, labels: list[str] | None = None):
    family = GaugeMetricFamily(name, documentation, labels=labels)
    if value is not None:
        family.add_metric([], value)
    return family


class StateCollector(Collector):
    """Orders by status, outbox backlog, data age per symbol, WordPress feed, trading halted, heartbeats."""

    def collect(self):
        at = now()
        parts = (self._orders, self._outbox, self._prices, self._wordpress, self._trading, self._heartbeats)
        for part in parts:
            try:
                yield from part(at)
            except Exception:  # a scrape shows what it can: a broken part is logged, not a 500
                logger.warning("metrics: %s failed", part.__name__, exc_info=True)

    def _orders(self, at):
        family = _gauge("tradingrobot_orders", "Orders in the ledger by status.", labels=["status"])
        for status, count in selectors.order_counts_by_status().items():
            family.add_metric([status], count)
        yield family

    def _outbox(self, at):
        backlog = selectors.outbox_backlog_get(at=at)
        yield _gauge("tradingrobot_outbox_pending", "Records waiting to be delivered to WordPress.", backlog.pending)
        yield _gauge(
            "tradingrobot_outbox_oldest_pending_age_seconds",
            "Age of the oldest record waiting for WordPress (0 when none waits).",
            backlog.oldest_pending_age,
        )
        yield _gauge("tradingrobot_outbox_failed", "Records WordPress refused (need an operator).", backlog.failed)

    def _prices(self, at):
        age = _gauge("tradingrobot_price_age_seconds", "Age of the newest price per symbol.", labels=["symbol"])
        stale = _gauge(
            "tradingrobot_price_stale",
            "1 when the newest price is older than the market clock allows.",
            labels=["symbol"],
        )
        missing = _gauge("tradingrobot_price_missing", "1 when a symbol has no price at all.", labels=["symbol"])
        for row in selectors.price_freshness_list(at=at):
            if row.age_seconds is not None:
                age.add_metric([row.ticker], row.age_seconds)
            stale.add_metric([row.ticker], int(row.stale))
            missing.add_metric([row.ticker], int(row.age_seconds is None))
        yield from (age, stale, missing)
        yield _gauge(
            "tradingrobot_market_open", "1 while the exchange session is open.", int(selectors.market_is_open(at=at))
        )

    def _wordpress(self, at):
        feed = selectors.wordpress_feed_get()
        yield _gauge(
            "tradingrobot_wordpress_up", "1 unless the WordPress feed counts as down.", int(not feed.down(at=at))
        )
        yield _gauge(
            "tradingrobot_wordpress_breaker_open", "1 while the circuit breaker is open.", int(feed.breaker == "open")
        )
        family = _gauge(
            "tradingrobot_wordpress_breaker_state",
            "The circuit breaker's state (1 on the current one).",
            labels=["state"],
        )
        for state in ("closed", "open", "half_open"):
            family.add_metric([state], int(feed.breaker == state))
        yield family
        yield _gauge(
            "tradingrobot_wordpress_poll_consecutive_failures", "Polls in a row that failed.", feed.consecutive_failures
        )
        if feed.last_success_at is not None:
            yield _gauge(
                "tradingrobot_wordpress_last_success_timestamp_seconds",
                "When the last poll succeeded (Unix time).",
                feed.last_success_at.timestamp(),
            )

    def _trading(self, at):
        yield _gauge("tradingrobot_trading_halted", "1 while trading is halted.", int(trading_state_get().halted))

    def _heartbeats(self, at):
        family = _gauge(
            "tradingrobot_heartbeat_age_seconds",
            "Seconds since the Celery worker / beat was last seen.",
            labels=["process"],
        )
        for kind, age in selectors.heartbeat_ages(at=at).items():
            if age is not None:
                family.add_metric([kind], age)
        yield family
