"""Prometheus metrics, one registry per application (so tests never share counters)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.requests = Counter("anclora_http_requests_total", "HTTP requests.", ["route", "method", "status"],
                                registry=r)
        self.latency = Histogram("anclora_http_request_duration_seconds", "HTTP request latency.",
                                 ["route", "method"], registry=r)
        self.upload_bytes = Counter("anclora_upload_bytes_total", "Bytes received in uploads.", registry=r)
        self.scans = Counter("anclora_upload_scans_total",
                             "Uploads scanned for malware by outcome (clean, infected, too_large, unavailable; "
                             "unscanned: let through by clamd_fail_open).", ["outcome"], registry=r)
        self.scan_seconds = Histogram("anclora_upload_scan_duration_seconds", "Time clamd took to scan an upload.",
                                      registry=r, buckets=(0.01, 0.05, 0.1, 0.5, 1, 2, 5, 10, 30, 60, 120))
        self.conversions = Counter("anclora_conversions_total", "Conversions by converter and outcome.",
                                   ["converter", "outcome"], registry=r)
        self.conversion_seconds = Histogram("anclora_conversion_duration_seconds", "Conversion run time.",
                                            ["converter"], registry=r,
                                            buckets=(0.1, 0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600))
        self.queue_wait = Histogram("anclora_queue_wait_seconds", "Time conversions wait in the queue.",
                                    registry=r, buckets=(0.01, 0.1, 0.5, 1, 5, 10, 30, 60, 300))
        self.result_cache = Counter("anclora_result_cache_lookups_total",
                                    "Result cache lookups by outcome (hit: no engine ran).", ["outcome"], registry=r)
        self.pool = Gauge("anclora_engine_pool_instances", "Engine pool instances by state.",
                          ["engine", "state"], registry=r)
        self.quota_refusals = Counter("anclora_quota_refusals_total", "Requests refused by a limit.",
                                      ["limit"], registry=r)
        self.webhook_attempts = Counter("anclora_webhook_attempts_total",
                                        "Webhook delivery attempts by outcome (delivered, retry, failed, refused).",
                                        ["outcome"], registry=r)
        self.webhook_latency = Histogram("anclora_webhook_delivery_seconds",
                                         "Time from a webhook's event to its delivery (2xx), retries included.",
                                         registry=r, buckets=(0.01, 0.05, 0.1, 0.5, 1, 5, 30, 120, 600, 3600))

    def render(self) -> bytes:
        return generate_latest(self.registry)
