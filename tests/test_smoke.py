async def test_health(client):
    response = await client.get("/api/health")
    assert response.status_code == 200
    assert response.json()["checks"]["database"]["status"] == "up"
