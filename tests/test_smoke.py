def test_status_answers(api, market_open):
    response = api.get("/api/status")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["market_open"] is True
    assert body["cash_balance"] == 100000.0
