"""The trade path's shortcuts (issue 18) give what the long way gives: the response without building a
serializer per order, and the writes batched into one round trip."""

import contextlib
import datetime as dt
from collections.abc import Iterator

import pytest
from django.db import IntegrityError, connection, transaction
from django.db.transaction import on_commit
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from portfolio.models import Account
from trading.authority import Authority
from trading.models import Order
from trading.order_request import order_request_parse
from trading.serializers import OrderOut, order_out_data
from trading.services import order_place
from tradingrobot.write_batch import row_insert, row_update, write_batch


@pytest.mark.parametrize(
    "viewer",
    [Authority(principal="api", admin=False), Authority(principal="someone-else", admin=False), None],
    ids=["owner", "other", "nobody"],
)
def test_order_data_is_the_serializers(priced, place, viewer):
    orders = [
        place(qty="2"),  # filled
        place(qty="1", type="limit", limit_price="1", time_in_force="gtc"),  # resting
        place(side="sell", qty="1000"),  # rejected: not held
    ]
    for order in orders:
        order.principal = "api"
        assert list(order_out_data(order, viewer).items()) == list(
            OrderOut(order, context={"viewer": viewer}).data.items()
        )
    assert {o.status for o in orders} == {Order.Status.FILLED, Order.Status.ACCEPTED, Order.Status.REJECTED}
    assert (order_out_data(orders[0], viewer)["client_order_id"] is not None) == (
        viewer is not None and viewer.principal == "api"
    )


@pytest.mark.parametrize("zone", ["UTC", "America/New_York", "Asia/Kolkata"])
def test_order_data_is_the_serializers_in_any_zone_and_for_naive_times(priced, place, zone):
    """Datetimes as DateTimeField writes them in the current zone (the zone's offset, Z only for UTC); a naive
    one is the field's own business."""
    viewer = Authority(principal="api", admin=False)
    order = place(qty="2")
    with timezone.override(zone):
        assert list(order_out_data(order, viewer).items()) == list(
            OrderOut(order, context={"viewer": viewer}).data.items()
        )
        order.expires_at = dt.datetime(2030, 1, 2, 3, 4, 5)
        assert (
            order_out_data(order, viewer)["expires_at"]
            == OrderOut(order, context={"viewer": viewer}).data["expires_at"]
        )
    assert order_out_data(order, viewer)["created_at"].endswith("Z")


def test_a_batch_sends_its_writes_in_one_round_trip_at_its_end(db):
    account = Account.objects.create(name="batch", cash=100, starting_cash=100)
    with CaptureQueriesContext(connection) as captured, transaction.atomic(), write_batch():
        account.cash = 90
        row_update(account, ["cash", "updated_at"])
        account.starting_cash = 50
        row_update(account, ["starting_cash"])
        assert Account.objects.get(pk=account.pk).cash == 100  # not sent yet
    writes = [q["sql"] for q in captured.captured_queries if q["sql"].startswith("UPDATE")]
    assert len(writes) == (1 if connection.vendor == "postgresql" else 2)
    account.refresh_from_db()
    assert (account.cash, account.starting_cash) == (90, 50)


def test_an_error_in_the_block_sends_nothing(db):
    account = Account.objects.create(name="batch", cash=100, starting_cash=100)
    with pytest.raises(RuntimeError), transaction.atomic(), write_batch():
        account.cash = 90
        row_update(account, ["cash", "updated_at"])
        raise RuntimeError("refused")
    account.refresh_from_db()
    assert account.cash == 100


def test_a_kept_statement_sends_what_django_compiles(priced, place, monkeypatch):
    """The second row of a model goes through the kept SQL: the same statement and values as the compiled first."""
    from tradingrobot import write_batch as batch

    order = place(qty="1")
    sent: list = []
    monkeypatch.setattr(batch, "_add", sent.append)
    monkeypatch.setattr(batch, "_templates", {})
    account = order.account
    for _ in range(2):
        order._state.adding = True
        batch.row_insert(order)
        batch.row_update(account, ["cash", "updated_at"])
    assert len(sent) == 4 and all(batch._templates.values())
    (insert_sql, insert_params), (update_sql, update_params) = sent[0], sent[1]
    assert sent[2] == (insert_sql, insert_params)
    assert sent[3][0] == update_sql and sent[3][1][0] == update_params[0] and sent[3][1][2:] == update_params[2:]


HOSTILE_NAMES = ["100% '; DROP TABLE portfolio_account; --", "%s %(x)s %% \\' \" \\\\", "ünï\u2063çødé"]


@pytest.mark.parametrize("name", HOSTILE_NAMES)
def test_a_batch_stores_hostile_text_exactly(db, name):
    """The batch's statements are bound one by one (psycopg's own literals): quotes, percent signs and
    placeholders in a value are stored as they were, never read as SQL or as more parameters."""
    accounts = [Account.objects.create(name=f"batch {i}", cash=100, starting_cash=100) for i in range(2)]
    with transaction.atomic(), write_batch():
        for number, account in enumerate(accounts):
            account.name = f"{name} {number}"  # names are unique
            account.cash = 7
            row_update(account, ["name", "cash"])
    stored = Account.objects.filter(pk__in=[a.pk for a in accounts]).order_by("pk").values_list("name", "cash")
    assert list(stored) == [(f"{name} 0", 7), (f"{name} 1", 7)]


postgresql_only = pytest.mark.skipif(connection.vendor != "postgresql", reason="tradingrobot/pipeline.py: PostgreSQL")


@contextlib.contextmanager
def _executes() -> Iterator[list[tuple[str, object]]]:
    """Each (sql, params) Django's execute wrappers see inside the block."""
    sent: list[tuple[str, object]] = []

    def seen(execute, sql, params, many, context):
        sent.append((sql, params))
        return execute(sql, params, many, context)

    with connection.execute_wrapper(seen):
        yield sent


def _prepared_updates() -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT statement FROM pg_prepared_statements WHERE statement LIKE 'UPDATE %%portfolio_account%%'"
        )
        return [statement for (statement,) in cursor.fetchall()]


@postgresql_only
def test_a_batch_is_one_execute_of_statements_prepared_once_per_connection(db):
    """Django's execute wrappers see the batch once, its statements with their parameters apart; the server keeps
    each statement prepared (parsed and planned once), and a later batch reuses it."""
    accounts = [Account.objects.create(name=f"bound {i}", cash=100, starting_cash=100) for i in range(2)]
    sent: list[tuple[str, object]] = []
    for cash in (7, 8):
        with _executes() as seen, transaction.atomic(), write_batch():
            for account in accounts:
                account.cash = cash
                row_update(account, ["cash", "updated_at"])
        sent += seen
        assert len(_prepared_updates()) == 1
    batches = [(sql, params) for sql, params in sent if "UPDATE" in sql]  # less the test's savepoints
    assert len(batches) == 2 and all(params is None and sql.count("UPDATE") == 2 for sql, params in batches)
    assert str(accounts[1].pk) not in batches[0][0]  # bound by the server, not written into the text
    assert set(Account.objects.filter(pk__in=[a.pk for a in accounts]).values_list("cash", flat=True)) == {8}


@postgresql_only
def test_without_prepared_statements_a_batch_still_runs_in_one_execute(db, monkeypatch):
    """DATABASE_PREPARED_STATEMENTS=false (psycopg's threshold None): the same writes, nothing kept prepared."""
    connection.ensure_connection()
    monkeypatch.setattr(connection.connection, "prepare_threshold", None)
    account = Account.objects.create(name="unprepared", cash=100, starting_cash=100)
    with transaction.atomic(), write_batch():
        account.cash = 9
        row_update(account, ["cash", "updated_at"])
    assert _prepared_updates() == []
    account.refresh_from_db()
    assert account.cash == 9


@postgresql_only
def test_a_refused_statement_in_a_batch_raises_djangos_error_and_writes_nothing(db):
    """The first statement's write and the refused second one go together: IntegrityError, as Django raises it."""
    first, second = (Account.objects.create(name=name, cash=100, starting_cash=100) for name in ("one", "two"))
    with pytest.raises(IntegrityError), transaction.atomic(), write_batch():
        first.cash = 1
        row_update(first, ["cash"])
        second.name = "one"  # taken: the unique name
        row_update(second, ["name"])
    assert list(Account.objects.order_by("pk").values_list("name", "cash")) == [("one", 100), ("two", 100)]
    assert Account.objects.count() == 2  # the connection is usable after the refusal


committed = pytest.mark.django_db(transaction=True, serialized_rollback=True)  # outside the test's transaction


@postgresql_only
@committed
def test_a_trade_outside_any_transaction_sends_its_writes_and_commit_in_one_round_trip(priced):
    """order_place's atomic block is the outermost: the batch carries the COMMIT, Django's commit finds nothing
    left to do, and what runs after COMMIT (on_commit) still runs."""
    after: list[str] = []

    def audited(order, created):
        on_commit(lambda: after.append(f"committed {order.pk}"))

    request = order_request_parse(ticker="TSLA", side="buy", qty="2")
    order_place(request=request, placed_by="test")  # the position and book rows exist from now on
    with _executes() as sent:
        order, _ = order_place(request=request, placed_by="test", within=audited)
    [batch] = [sql for sql, _ in sent if "INSERT" in sql]
    assert batch.endswith(";\nCOMMIT") and batch.count("INSERT") == 3  # order, fill, outbox
    assert after == [f"committed {order.pk}"] and not connection.in_atomic_block and connection.get_autocommit()
    assert Order.objects.get(pk=order.pk).status == Order.Status.FILLED


@postgresql_only
@committed
def test_a_refusal_at_commit_raises_djangos_error_and_keeps_nothing():
    """A deferred constraint (Django's foreign keys) is checked by the COMMIT in the batch: its IntegrityError comes
    out of the block, nothing of the transaction is kept, and the connection serves the next query."""
    account = Account.objects.create(name="deferred", cash=100, starting_cash=100)
    after: list[str] = []
    with (
        _executes() as sent,
        pytest.raises(IntegrityError),
        transaction.atomic(),
        write_batch(commit=True),
    ):
        account.cash = 1
        row_update(account, ["cash"])
        row_insert(Account(name="orphan", cash=0, starting_cash=0))
        row_insert(Order(account_id=999_999, symbol_id=999_999, side="buy", qty=1, principal="p", client_order_id="x"))
        on_commit(lambda: after.append("committed"))
    assert sent[-1][0].endswith(";\nCOMMIT")  # refused by the COMMIT the batch carried
    assert after == [] and not connection.in_atomic_block and connection.get_autocommit()
    assert list(Account.objects.values_list("name", "cash")) == [("deferred", 100)]


@postgresql_only
def test_the_held_back_read_is_prepared_with_its_values_in_its_text(priced, place):
    """A prepared statement may switch to a generic plan after five runs; with the open statuses as parameters
    that plan cannot use the open orders' partial index (order_open_idx) and scanned every order of the symbol,
    a trade slower with each order stored. The values are written into the text: no parameter to plan around."""
    for side in ["buy", "sell"] * 4:
        place(side=side, qty="1")
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT statement, parameter_types::text FROM pg_prepared_statements "
            "WHERE statement LIKE %s OR statement LIKE %s",
            ["%COALESCE((SELECT SUM%", '%FROM "portfolio_bookposition"%FOR UPDATE%'],
        )
        prepared = cursor.fetchall()
    assert len(prepared) >= 3  # the buy and sell held-back reads, the book rows' lock
    assert all(types == "{}" and "%s" not in statement for statement, types in prepared)
