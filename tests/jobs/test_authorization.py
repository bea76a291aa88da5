"""Pricing and authorization: plugins see every conversion before it is queued, and may refuse it."""

async def test_authorization_sees_the_quote_and_the_job_id(api, sample):
    job = await api.convert("a.txt", b"authorize me", "html")
    assert len(sample.AUTHORIZED) == 1
    assert sample.AUTHORIZED[0] == {
        "id": job["id"], "converter": "upper_text+md_to_html", "from": "txt", "to": "html", "via": ["md"],
        "input_size": 12, "options": {}, "file_id": job["file_id"], "cost": 5, "cached": False, "dry_run": False,
        "webhook_url": None}


async def test_refusal_is_returned_and_leaves_no_job(api, client, sample):
    file_id = await api.upload("big.txt", b"x" * sample.REFUSED_SIZE)
    for _attempt in range(2):  # the same Idempotency-Key after a refusal asks again: nothing was stored
        response = await client.post("/api/conversions", json={"file_id": file_id, "to": "md"},
                                     headers={"Idempotency-Key": "k1"})
        assert response.status_code == 402
        assert response.json()["error"]["details"] == {"checkout_url": "https://pay.example/1"}
    assert len(sample.AUTHORIZED) == 2
    assert (await client.get("/api/conversions")).json()["conversions"] == []
    assert [event for event in sample.EVENTS if event[0] == "queued"] == []


async def test_dry_run_is_authorized_as_a_dry_run(api, client, sample):
    file_id = await api.upload("big.txt", b"x" * sample.REFUSED_SIZE)
    response = await client.post("/api/conversions", json={"file_id": file_id, "to": "md", "dry_run": True})
    assert response.status_code == 402
    assert sample.AUTHORIZED[0]["dry_run"] is True


async def test_upload_limit_from_a_plugin_applies_to_one_shot_conversions(client, sample):
    response = await client.post("/api/convert?to=md&filename=a.txt", content=b"x" * (sample.UPLOAD_LIMIT + 1))
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "payload_too_large"
    assert sample.AUTHORIZED == []
