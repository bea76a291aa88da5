"""gotenberg-client's webhook mode against a live server: 204 at once, then the PDF (or the error) delivered to a
listener on 127.0.0.1 through the webhook deliveries, with the extra headers and the trace."""

from __future__ import annotations

import io
import json

import pytest
from gotenberg_client import AsyncGotenbergClient
from gotenberg_samples import write_docx
from webhook_helpers import Listener
from pypdf import PdfReader
from test_gotenberg_fields import post_form


@pytest.fixture
def anclora_overrides():
    return {"office_pool_size": 1, "webhook_private_targets": True, "webhook_poll_seconds": 0.1,
            "webhook_backoff_seconds": 0.5}


@pytest.fixture
async def listener():
    receiver = Listener()
    await receiver.start()
    yield receiver
    receiver.stop()


async def test_the_pdf_is_delivered_to_the_webhook(anclora_server, api_key, listener, tmp_path):
    docx = write_docx(tmp_path / "report.docx", pages=2)
    base = listener.url.rsplit("/", 1)[0]
    async with AsyncGotenbergClient(anclora_server, auth=("client", await api_key()), timeout=60) as gotenberg:
        gotenberg.add_webhook_url(f"{base}/result")
        gotenberg.add_error_webhook_url(f"{base}/error")
        gotenberg.set_webhook_http_method("PUT")
        gotenberg.set_webhook_extra_headers({"X-Bucket-Token": "s3cret"})
        gotenberg.add_headers({"Gotenberg-Webhook-Events-Url": f"{base}/events"})
        async with gotenberg.libre_office.to_pdf() as route:
            response = await route.convert(docx).trace_id("job-7").output_filename("report").run()
    assert response.status_code == 204
    received = {request.path: request for request in await listener.wait_for(2, timeout=60)}
    delivered, event = received["/result"], json.loads(received["/events"].body)
    assert (event["event"], event["correlationId"]) == ("webhook.success", "job-7")
    assert delivered.method == "PUT"
    assert delivered.headers["Content-Type"] == "application/pdf"
    assert delivered.headers["X-Bucket-Token"] == "s3cret"
    assert delivered.headers["Gotenberg-Trace"] == "job-7"
    assert 'filename="report.pdf"' in delivered.headers["Content-Disposition"]
    assert len(PdfReader(io.BytesIO(delivered.body)).pages) == 2


async def test_an_error_goes_to_the_error_webhook(anclora_server, api_key, listener, tmp_path):
    docx = write_docx(tmp_path / "report.docx")
    base = listener.url.rsplit("/", 1)[0]
    async with AsyncGotenbergClient(anclora_server, auth=("client", await api_key()), timeout=60) as gotenberg:
        gotenberg.add_webhook_url(f"{base}/result")
        gotenberg.add_error_webhook_url(f"{base}/error")
        async with gotenberg.libre_office.to_pdf() as route:
            response = await route.convert(docx).page_ranges("first-last").run()
    assert response.status_code == 204
    [delivered] = await listener.wait_for(1)
    assert (delivered.method, delivered.path) == ("POST", "/error")
    body = json.loads(delivered.body)
    assert body["status"] == 400 and "form field 'nativePageRanges' is invalid" in body["message"]


async def test_webhooks_need_an_account_an_error_url_and_a_public_target(client, api_key, listener, tmp_path):
    docx = write_docx(tmp_path / "report.docx")
    hook = {"Gotenberg-Webhook-Url": listener.url, "Gotenberg-Webhook-Error-Url": listener.url}
    anonymous = await post_form(client, "libreoffice/convert", [docx], headers=hook)
    assert anonymous.status_code == 403 and "Anonymous callers" in anonymous.text
    key = {"X-API-Key": await api_key()}
    no_error_url = await post_form(client, "libreoffice/convert", [docx],
                                   headers={**key, "Gotenberg-Webhook-Url": listener.url})
    assert no_error_url.status_code == 400 and "Gotenberg-Webhook-Error-Url" in no_error_url.text
    bad_method = await post_form(client, "libreoffice/convert", [docx],
                                 headers={**key, **hook, "Gotenberg-Webhook-Method": "DELETE"})
    assert bad_method.status_code == 400 and "'Gotenberg-Webhook-Method'" in bad_method.text
    assert listener.received == []


@pytest.mark.parametrize("anclora_overrides", [{"webhook_private_targets": False}])
async def test_a_private_target_is_refused_before_any_connection(client, api_key, listener, tmp_path):
    docx = write_docx(tmp_path / "report.docx")
    response = await post_form(client, "libreoffice/convert", [docx], headers={
        "X-API-Key": await api_key(), "Gotenberg-Webhook-Url": listener.url,
        "Gotenberg-Webhook-Error-Url": listener.url})
    assert response.status_code == 403 and "loopback" in response.text
    assert listener.connections == 0
