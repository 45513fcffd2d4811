"""The strategies admin: list with the site's status and the last decision, enable/disable actions for users
with `trading.change_strategy` only, decisions read-only."""

import datetime as dt

import pytest
from django.contrib.auth.models import Permission, User

from trading.engine.services import strategy_create
from trading.models import Strategy, StrategyDecision

pytestmark = pytest.mark.django_db

LIST = "/admin/trading/strategy/"


@pytest.fixture
def strategies(db):
    tsla = strategy_create(strategy_id="STRATEGY-TSLA", ticker="TSLA", fields={"site_status": "active"}, by="tests")
    strategy_create(strategy_id="STRATEGY-QQQ", ticker="QQQ", by="tests")
    end = dt.datetime(2025, 12, 16, 15, 30, tzinfo=dt.UTC)
    StrategyDecision.objects.create(
        strategy=tsla, bar_end=end, decided_at=end, outcome="skip", reason="warming_up", message="3 of 30 bars"
    )
    return tsla


def staff(client, *permissions: str):
    user = User.objects.create_user("operator", password="pw", is_staff=True)
    for codename in permissions:
        user.user_permissions.add(Permission.objects.get(codename=codename))
    client.force_login(user)
    return client


def enabled() -> dict[str, bool]:
    return dict(Strategy.objects.values_list("strategy_id", "enabled"))


def act(client, action: str, *ids: str):
    return client.post(LIST, {"action": action, "_selected_action": list(ids)}, follow=True)


def test_the_list_shows_the_site_status_beside_ours_and_the_last_decision(admin_client, strategies):
    page = admin_client.get(LIST)
    assert page.status_code == 200
    text = page.content.decode()
    assert "STRATEGY-TSLA" in text and "active" in text and "warming_up" in text and "skip" in text
    assert "enable_strategies" in text and "disable_strategies" in text
    assert admin_client.get(f"{LIST}add/").status_code == 403


def test_enable_and_disable_actions_go_through_the_service(admin_client, strategies):
    page = act(admin_client, "enable_strategies", str(strategies.pk))
    assert "1 strategy enabled." in page.content.decode()
    assert enabled() == {"STRATEGY-TSLA": True, "STRATEGY-QQQ": False}
    act(admin_client, "disable_strategies", str(strategies.pk))
    assert enabled() == {"STRATEGY-TSLA": False, "STRATEGY-QQQ": False}


def test_a_view_only_user_gets_no_action_and_cannot_post_one(client, strategies):
    viewer = staff(client, "view_strategy")
    page = viewer.get(LIST)
    assert page.status_code == 200
    assert "enable_strategies" not in page.content.decode()
    act(viewer, "enable_strategies", str(strategies.pk))
    assert enabled()["STRATEGY-TSLA"] is False


def test_the_change_permission_allows_the_actions_but_not_a_form(client, strategies):
    operator = staff(client, "view_strategy", "change_strategy")
    assert "enable_strategies" in operator.get(LIST).content.decode()
    act(operator, "enable_strategies", str(strategies.pk))
    assert enabled()["STRATEGY-TSLA"] is True
    change = operator.post(f"{LIST}{strategies.pk}/change/", {"kind": "buy_and_hold"})
    assert change.status_code in (302, 403) and Strategy.objects.get(pk=strategies.pk).kind == "sma_crossover"


def test_decisions_are_read_only(admin_client, strategies):
    decision = StrategyDecision.objects.get()
    assert admin_client.get("/admin/trading/strategydecision/").status_code == 200
    assert admin_client.get("/admin/trading/strategydecision/add/").status_code == 403
    assert (
        admin_client.post(f"/admin/trading/strategydecision/{decision.pk}/delete/", {"post": "yes"}).status_code == 403
    )
    assert StrategyDecision.objects.count() == 1


def test_an_admin_enable_is_audited_with_the_user(client, strategies):
    from tradingrobot.security.models import AuditEvent

    act(staff(client, "change_strategy", "view_strategy"), "enable_strategies", str(strategies.pk))
    event = AuditEvent.objects.get(action="strategy_update")
    assert (event.actor, event.target) == ("admin:operator", "strategy:STRATEGY-TSLA")
    assert event.detail["changes"] == {"enabled": {"before": False, "after": True}}
