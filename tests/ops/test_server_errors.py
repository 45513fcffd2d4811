"""A 5xx is answered as JSON with its request id and tallied for the error-rate alert, under WSGI and ASGI alike."""

import pytest
from django.test import AsyncClient, Client
from django.urls import path

from tradingrobot.ops.models import ErrorTally
from tradingrobot.urls import urlpatterns as project_urls


def broken(request):
    raise RuntimeError("boom")


urlpatterns = [path("ops-test/broken", broken), *project_urls]
handler500 = "tradingrobot.errors.json_server_error"


def tallied() -> int:
    return sum(ErrorTally.objects.filter(source="http").values_list("count", flat=True))


@pytest.fixture
def broken_urls(settings):
    settings.ROOT_URLCONF = __name__


@pytest.mark.django_db
def test_sync_server_error_is_counted(broken_urls, healthy):
    response = Client(raise_request_exception=False).get("/ops-test/broken", HTTP_X_REQUEST_ID="req-500")
    assert response.status_code == 500
    assert response["X-Request-ID"] == "req-500"
    assert response.json()["code"] == "server_error"
    assert tallied() == 1


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
async def test_async_server_error_is_counted(broken_urls, ops_settings):
    from asgiref.sync import sync_to_async

    response = await AsyncClient(raise_request_exception=False).get(
        "/ops-test/broken", headers={"X-Request-ID": "a-500"}
    )
    assert response.status_code == 500
    assert response["X-Request-ID"] == "a-500"
    assert await sync_to_async(tallied)() == 1
