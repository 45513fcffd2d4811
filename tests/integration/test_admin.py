import datetime as dt

import pytest

from integration.models import BackfillWindow, FeedStatus

pytestmark = pytest.mark.django_db


def test_feed_status_and_backfill_windows_are_listed_read_only(admin_client, symbols):
    FeedStatus.objects.create(kind="poll", last_error_code="critical_error")
    start = dt.datetime(2025, 12, 1, tzinfo=dt.UTC)
    BackfillWindow.objects.create(symbol=symbols["TSLA"], start=start, end=start + dt.timedelta(days=7), rows=2016)

    status_page = admin_client.get("/admin/integration/feedstatus/")
    windows_page = admin_client.get("/admin/integration/backfillwindow/")
    assert status_page.status_code == windows_page.status_code == 200
    assert b"critical_error" in status_page.content and b"2016" in windows_page.content
    assert admin_client.get("/admin/integration/feedstatus/add/").status_code == 403
