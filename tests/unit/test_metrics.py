"""The per-request counts go straight to prometheus-client's value objects; what a scrape shows must
be what the public Counter.inc and Histogram.observe would have made of the same requests."""

from __future__ import annotations

import random

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.exposition import generate_latest

from proxy.metrics import DURATION_BUCKETS, Metrics

ROUTE = "/v3.1/sections/{section_id}/assignments"


def _exposition(registry: CollectorRegistry, names: tuple[str, ...]) -> list[str]:
    lines = generate_latest(registry).decode().splitlines()
    return sorted(line for line in lines if line.startswith(names) and "_created" not in line)


def test_request_counts_and_durations_match_the_public_api() -> None:
    ours = CollectorRegistry()
    metrics = Metrics(ours, (ROUTE,))
    reference = CollectorRegistry()
    requests = Counter(
        "clever_proxy_requests", "", ("route", "method", "outcome", "status_class"), registry=reference
    )
    duration = Histogram(
        "clever_proxy_request_duration_seconds",
        "",
        ("route", "outcome"),
        buckets=DURATION_BUCKETS,
        registry=reference,
    )
    rng = random.Random(7)
    # Every bucket bound exactly (the edge goes into its own bucket), just above it, and random values.
    samples = [*DURATION_BUCKETS, *(b * 1.000001 for b in DURATION_BUCKETS), 0.0, 1e9]
    samples += [rng.uniform(0, 0.01) for _ in range(300)] + [rng.uniform(0, 70) for _ in range(100)]
    cases = [
        ("rejected", 400, "4xx", "POST"),
        ("forwarded", 201, "2xx", "POST"),
        ("forwarded", 599, "5xx", "PATCH"),
        ("upstream_error", 502, "5xx", "BREW"),
    ]
    for i, seconds in enumerate(samples):
        outcome, status, klass, method = cases[i % len(cases)]
        metrics.request_done(ROUTE, method, outcome, status, seconds)
        label = method if method != "BREW" else "other"
        requests.labels(ROUTE, label, outcome, klass).inc()
        duration.labels(ROUTE, outcome).observe(seconds)
    names = ("clever_proxy_requests_total", "clever_proxy_request_duration_seconds")
    assert _exposition(ours, names) == _exposition(reference, names)
    assert len(_exposition(ours, names)) > 3 * len(DURATION_BUCKETS)  # three histograms, four counters


def test_rejections_count_per_rule_and_as_upstream_calls_saved() -> None:
    registry = CollectorRegistry()
    metrics = Metrics(registry, (ROUTE,))
    for rule in ("auth", "json", "json", "due_date"):
        metrics.rejected(rule)
    sample = registry.get_sample_value
    assert sample("clever_proxy_local_rejections_total", {"rule": "json"}) == 2
    assert sample("clever_proxy_local_rejections_total", {"rule": "auth"}) == 1
    assert sample("clever_proxy_local_rejections_total", {"rule": "schema"}) == 0
    assert sample("clever_proxy_upstream_calls_saved_total", {}) == 4
