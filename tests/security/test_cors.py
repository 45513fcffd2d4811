"""CORS: only the configured WordPress origin(s) get Access-Control-Allow-Origin."""

WP = "https://tradingrobotplug.com"


def test_the_wordpress_origin_gets_cors_headers(api):
    response = api.get("/api/status", HTTP_ORIGIN=WP)
    assert response.status_code == 200
    assert response["Access-Control-Allow-Origin"] == WP
    assert "Access-Control-Allow-Credentials" not in response


def test_a_foreign_origin_gets_none(api):
    for origin in ("https://evil.example", "http://tradingrobotplug.com", "https://tradingrobotplug.com.evil.example"):
        response = api.get("/api/status", HTTP_ORIGIN=origin)
        assert "Access-Control-Allow-Origin" not in response, origin


def test_preflight_allows_the_key_header_only_for_the_wordpress_origin(anon_api):
    preflight = {"HTTP_ACCESS_CONTROL_REQUEST_METHOD": "POST", "HTTP_ACCESS_CONTROL_REQUEST_HEADERS": "x-api-key"}
    ok = anon_api.options("/api/trade/TSLA/buy", HTTP_ORIGIN=WP, **preflight)
    assert ok.status_code == 200
    assert ok["Access-Control-Allow-Origin"] == WP
    assert "x-api-key" in ok["Access-Control-Allow-Headers"]
    assert "POST" in ok["Access-Control-Allow-Methods"]
    foreign = anon_api.options("/api/trade/TSLA/buy", HTTP_ORIGIN="https://evil.example", **preflight)
    assert "Access-Control-Allow-Origin" not in foreign


def test_configured_origins_replace_the_default(settings, api):
    settings.CORS_ALLOWED_ORIGINS = ["https://staging.tradingrobotplug.com"]
    assert (
        api.get("/api/status", HTTP_ORIGIN="https://staging.tradingrobotplug.com")["Access-Control-Allow-Origin"]
        == "https://staging.tradingrobotplug.com"
    )
    assert "Access-Control-Allow-Origin" not in api.get("/api/status", HTTP_ORIGIN=WP)


def test_a_throttled_answer_still_carries_cors_headers_and_exposes_retry_after(settings, api):
    settings.THROTTLE_RATES = {**settings.THROTTLE_RATES, "credential": "1/min"}
    api.get("/api/status", HTTP_ORIGIN=WP)
    response = api.get("/api/status", HTTP_ORIGIN=WP)
    assert response.status_code == 429
    assert response["Access-Control-Allow-Origin"] == WP
    assert "retry-after" in response["Access-Control-Expose-Headers"].lower()
