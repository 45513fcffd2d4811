"""The trade's audit row is written in the trade's transaction (issue 18): both commit or neither, and a trade
whose transaction fails at its end is still audited, with its final outcome."""

import json

from django.db import DatabaseError

from trading.models import Fill, Order
from tradingrobot import write_batch
from tradingrobot.security.models import AuditEvent


def test_a_trade_is_audited_once_with_its_outcome(priced, make_key, client_from):
    _, plain = make_key("read,trade", name="wp-plugin")
    api = client_from(plain)
    placed = api.post("/api/trade/TSLA/buy", data=json.dumps({"quantity": 1}), content_type="application/json")
    assert placed.status_code == 201, placed.content
    order_id = placed.json()["order"]["id"]
    [event] = AuditEvent.objects.filter(action="order_place")
    assert (event.outcome, event.target, event.actor) == (201, f"TSLA/buy order:{order_id}", "key:wp-plugin")
    assert Fill.objects.filter(order_id=order_id).count() == 1


def test_a_rejected_trade_is_audited_with_its_code_message_and_order(priced, make_key, client_from):
    """The audit row is written under the account lock from the answer's outcome alone (the order's whole data is
    built after COMMIT): the same status, code, message and order id as the answer the client gets."""
    _, plain = make_key("read,trade", name="wp-plugin")
    api = client_from(plain)
    refused = api.post("/api/trade/TSLA/sell", data=json.dumps({"quantity": 5}), content_type="application/json")
    assert refused.status_code == 422, refused.content
    answer = refused.json()
    [event] = AuditEvent.objects.filter(action="order_place")
    assert (event.outcome, event.target) == (422, f"TSLA/sell order:{answer['order']['id']}")
    assert (event.detail["code"], event.detail["message"]) == (answer["code"], answer["message"])
    assert answer["order"]["status"] == "rejected" and answer["code"] == "insufficient_position"


def test_a_trade_whose_writes_fail_leaves_no_order_and_an_audit_row_of_the_failure(
    priced, make_key, client_from, monkeypatch
):
    _, plain = make_key("read,trade", name="wp-plugin")
    api = client_from(plain)
    api.raise_request_exception = False
    sent = write_batch._send

    def failing(statements, **options):
        if any(sql.startswith('INSERT INTO "security_auditevent"') for sql, _ in statements):
            raise DatabaseError("the disk is full")
        sent(statements, **options)

    monkeypatch.setattr(write_batch, "_send", failing)
    placed = api.post("/api/trade/TSLA/buy", data=json.dumps({"quantity": 1}), content_type="application/json")
    assert placed.status_code == 500
    assert not Order.objects.exists() and not Fill.objects.exists()
    [event] = AuditEvent.objects.filter(action="order_place")
    assert event.outcome == 500
