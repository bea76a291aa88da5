"""Cross-site request forgery: a browser's state-changing request from another site's page is refused with 403,
whatever cookie it carries; the page's own requests and clients that send no Origin (curl, servers) pass."""

from __future__ import annotations


async def upload(client, **headers):
    return await client.post("/api/files?filename=a.txt", content=b"hello\n", headers=headers)


async def test_another_origin_may_not_change_anything(client, anclora_server):
    session = (await client.get("/api/me")).headers["X-Anclora-Session"]  # the cookie a browser would send
    for headers in ({"Origin": "https://evil.example"}, {"Origin": "null"},
                    {"Origin": anclora_server.replace("127.0.0.1", "localhost")},
                    {"Sec-Fetch-Site": "cross-site"}):
        refused = await upload(client, **headers)
        assert refused.status_code == 403, headers
        assert refused.json()["error"]["code"] == "forbidden"
    assert (await client.get("/api/files", headers={"X-Anclora-Session": session})).json()["files"] == []

    deleted = await client.delete("/api/me/api-keys/00000000-0000-0000-0000-000000000000", headers={"Origin": "https://evil.example"})
    assert deleted.status_code == 403


async def test_same_origin_and_origin_less_requests_pass(client, anclora_server):
    assert (await upload(client)).status_code == 201  # curl and server-side clients send no Origin
    assert (await upload(client, Origin=anclora_server, **{"Sec-Fetch-Site": "same-origin"})).status_code == 201
    looked = await client.get("/api/files", headers={"Origin": "https://evil.example"})
    assert looked.status_code == 200  # reading is not a state change (CORS keeps the answer from that page)
