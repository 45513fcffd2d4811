"""The site's strategy list, read into ours: `GET /strategies` gives ids, symbols and a `status`.

Each listed id gets a row (created disabled, kind sma_crossover on its symbol with default params, by the
engine's `strategy_ensure`), and the site's `status` is stored beside ours. Nothing is ever enabled here, and
an id that the site stops listing keeps its row (an operator may still be running it). A failed or stale read
(the site down: the client's last good answer) changes nothing.
"""

import logging
from dataclasses import dataclass, field

from trading.engine.selectors import strategy_list
from trading.engine.services import strategy_ensure
from tradingrobot.errors import DomainError

from .client import WordPressClient

logger = logging.getLogger(__name__)


@dataclass
class SyncReport:
    listed: int = 0
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # "<id>: why"
    error: str = ""

    @property
    def ok(self) -> bool:
        return not self.error

    def summary(self) -> str:
        text = (
            f"listed {self.listed}, created {len(self.created)} (disabled), status changed {len(self.updated)}, "
            f"skipped {len(self.skipped)}"
        )
        return f"{text}; failed: {self.error}" if self.error else text

    def as_dict(self) -> dict:
        return {
            "listed": self.listed,
            "created": self.created,
            "updated": self.updated,
            "skipped": self.skipped,
            "error": self.error,
        }


def strategies_sync(*, client: WordPressClient | None = None) -> SyncReport:
    report = SyncReport()
    response = (client or WordPressClient()).strategies(max_age=0)
    if not response.ok:
        assert response.error is not None  # ok is False exactly when error is set
        report.error = f"{response.error.code}: {response.error.message}"
        logger.warning("strategies sync: %s", report.error)
        return report
    items = response.data.get("strategies")
    if not isinstance(items, list):
        report.error = "bad_shape: `strategies` is not a list"
        return report
    report.listed = len(items)
    statuses = dict(strategy_list().values_list("strategy_id", "site_status"))
    for item in items:
        _one(item, report, statuses)
    if report.created or report.updated or report.skipped:
        logger.info("strategies sync: %s", report.summary())
    return report


def _one(item: object, report: SyncReport, statuses: dict[str, str]) -> None:
    if not isinstance(item, dict):
        report.skipped.append(f"{str(item)[:40]!r}: not an object")
        return
    strategy_id, ticker, status = item.get("strategy_id"), item.get("symbol"), item.get("status")
    if not isinstance(strategy_id, str) or not isinstance(ticker, str):
        report.skipped.append(f"{str(strategy_id)[:64]!r}: strategy_id and symbol must be strings")
        return
    try:
        strategy, created = strategy_ensure(
            strategy_id=strategy_id, ticker=ticker, site_status=status if isinstance(status, str) else ""
        )
    except DomainError as error:
        report.skipped.append(f"{strategy_id[:64]}: {error.message}")
        return
    if created:
        report.created.append(strategy.strategy_id)
    elif statuses.get(strategy.strategy_id) != strategy.site_status:
        report.updated.append(strategy.strategy_id)
