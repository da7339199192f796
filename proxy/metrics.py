"""Every metric the proxy exports, declared once, with bounded labels and children bound up front.

Rules: labels take only values derived from the contract (route templates, rule and stage names) or
small fixed sets (methods, outcomes, status classes, error kinds), never raw paths or tokens. The
registry is injected, so tests and several apps in one process never share series. Children are
looked up through plain dicts keyed by tuples, so the hot path makes no `labels()` call.

With several workers (`proxy.workers`), each worker's values live in files of a shared directory and
/metrics adds them up: counters and histograms are summed, and every gauge says how it combines
(`multiprocess_mode`, ignored in a single process). The "live" modes forget a worker once it is gone.
Gauges about the configuration and readiness take the worst worker (`livemin`), so that one worker
that missed a reload or is not ready shows instead of being averaged away.
"""

from __future__ import annotations

import os
import platform
from bisect import bisect_left
from collections.abc import Callable
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.metrics import MetricWrapperBase

import proxy
from proxy.contract import RULE_NAMES, STAGE_NAMES
from proxy.shadow import MESSAGE_CLASSES

OTHER = "other"
METHODS = ("GET", "POST", "PATCH", "PUT", "DELETE", "HEAD", "OPTIONS")
OUTCOMES = ("forwarded", "rejected", "upstream_error", "proxy_error")
STATUS_CLASSES = ("1xx", "2xx", "3xx", "4xx", "5xx")
UPSTREAM_ERROR_KINDS = ("connect", "timeout", "protocol", "client_gone")
# Where a forward is decided outside the contract's stages: a failure of the pipeline itself, an HTTP
# version Clever answers on its own, a Connection header naming another field.
FORWARD_PRE_STAGES = ("pipeline", "http_version", "connection")
FORWARD_REASONS = ("passed", "not_a_route", "uncertain", "rule_off", "shadow", "too_large", "check_error")
SHADOW_RESULTS = ("agree", "disagree")
DONE_CACHE_SIZE = 4096

# Latency buckets (seconds): local answers take tens of microseconds, Clever writes up to a minute.
DURATION_BUCKETS = (
    0.0001,
    0.00025,
    0.0005,
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1,
    2.5,
    5,
    10,
    30,
    60,
)


class Metrics:
    def __init__(self, registry: CollectorRegistry, routes: tuple[str, ...]) -> None:
        self.registry = registry
        self.routes = frozenset(routes)
        self.requests = Counter(
            "clever_proxy_requests",
            "Requests handled, by route template, method, outcome and response status class.",
            ("route", "method", "outcome", "status_class"),
            registry=registry,
        )
        self.rejections = Counter(
            "clever_proxy_local_rejections",
            "Requests answered locally with Clever's own response, by rule.",
            ("rule",),
            registry=registry,
        )
        self.forwards = Counter(
            "clever_proxy_forwards",
            "Requests sent upstream, by why they were (passed all checks, uncertain, ...) and the stage.",
            ("reason", "stage"),
            registry=registry,
        )
        self.upstream_calls_saved = Counter(
            "clever_proxy_upstream_calls_saved",
            "Upstream calls avoided by local answers (each would have spent Clever rate-limit budget).",
            registry=registry,
        )
        self.duration = Histogram(
            "clever_proxy_request_duration_seconds",
            "Time from request head to the end of the response, by route template and outcome.",
            ("route", "outcome"),
            buckets=DURATION_BUCKETS,
            registry=registry,
        )
        self.upstream_duration = Histogram(
            "clever_proxy_upstream_duration_seconds",
            "Time from sending a request upstream to its response head, by route template.",
            ("route",),
            buckets=DURATION_BUCKETS,
            registry=registry,
        )
        self.shadow_verdicts = Counter(
            "clever_proxy_shadow_verdicts",
            "Shadow-mode predictions compared with Clever's answer, by rule and result (agree, disagree).",
            ("rule", "result"),
            registry=registry,
        )
        self.missed = Counter(
            "clever_proxy_missed_rejections",
            "Forwarded requests the checks let pass but Clever rejected with a 400, by message class.",
            ("message_class",),
            registry=registry,
        )
        self.config_generation = Gauge(
            "clever_proxy_config_generation",
            "How many times the configuration was loaded (1 at start, +1 per successful reload).",
            registry=registry,
            multiprocess_mode="livemin",  # the generation every worker has reached
        )
        self.config_reload_success = Gauge(
            "clever_proxy_config_last_reload_success",
            "1 if the last configuration load or reload succeeded, 0 if it was refused.",
            registry=registry,
            multiprocess_mode="livemin",  # 1 only if every worker's last load succeeded
        )
        self.config_reload_time = Gauge(
            "clever_proxy_config_last_reload_timestamp_seconds",
            "When the configuration was last loaded or a reload was attempted (Unix time).",
            registry=registry,
            multiprocess_mode="livemin",  # the worker that tried least recently
        )
        self.in_flight = Gauge(
            "clever_proxy_in_flight_requests",
            "Requests being handled right now.",
            registry=registry,
            multiprocess_mode="livesum",
        )
        self.upstream_errors = Counter(
            "clever_proxy_upstream_errors",
            "Upstream exchanges that failed, by kind (connect, timeout, protocol, client_gone).",
            ("kind",),
            registry=registry,
        )
        self.check_errors = Counter(
            "clever_proxy_check_errors",
            "Check stages that raised (a bug; the request was forwarded), by stage.",
            ("stage",),
            registry=registry,
        )
        self.build_info = Gauge(
            "clever_proxy_build_info",
            "Always 1; labels carry the proxy and Python versions.",
            ("version", "python"),
            registry=registry,
            multiprocess_mode="livemax",  # one series, as with a single process
        )
        self.build_info.labels(proxy.__version__, platform.python_version()).set(1)
        self.ready = Gauge(
            "clever_proxy_ready",
            "1 while the proxy accepts traffic, 0 while starting or draining.",
            registry=registry,
            multiprocess_mode="livemin",  # 1 only while every worker accepts traffic
        )

        # Small label sets are bound now, so that their rates start at 0. The large products (route x
        # method x outcome x class) are bound on first use and cached, to keep the exposition small.
        self._requests: dict[tuple[str, ...], MetricWrapperBase] = {}
        self._duration: dict[tuple[str, ...], MetricWrapperBase] = {}
        self._rejections = _bind(self.rejections, RULE_NAMES)
        self._forwards = _bind(self.forwards, FORWARD_REASONS, ("", *STAGE_NAMES, *FORWARD_PRE_STAGES))
        self._upstream_duration = _bind(self.upstream_duration, (*routes, OTHER))
        self._upstream_errors = _bind(self.upstream_errors, UPSTREAM_ERROR_KINDS)
        self._check_errors = _bind(self.check_errors, (*STAGE_NAMES, "pipeline"))
        self._shadow = _bind(self.shadow_verdicts, RULE_NAMES, SHADOW_RESULTS)
        self._missed = _bind(self.missed, MESSAGE_CLASSES)
        # In a single process the in-flight gauge reads the server's own count when scraped, which
        # spares two gauge updates per request; a worker's value must be written to its file instead.
        self.in_flight_followed = False
        self.config_generation.set(1)
        self.config_reload_success.set(1)
        self.config_reload_time.set_to_current_time()
        self._done: dict[tuple[str, str, str, int], _Done] = {}
        self._rejection_counts = {key[0]: _value_of(child) for key, child in self._rejections.items()}
        self._upstream_calls_saved = _value_of(self.upstream_calls_saved)

    def follow_in_flight(self, count: Callable[[], float]) -> None:
        """Let the in-flight gauge read `count` at scrape time (`in_flight_followed`); not under
        prometheus-client's multiprocess mode, where the caller keeps the gauge up to date itself."""
        if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
            self.in_flight.set_function(count)
            self.in_flight_followed = True

    def route_label(self, template: str | None) -> str:
        return template if template is not None and template in self.routes else OTHER

    def request_done(self, route: str, method: str, outcome: str, status: int, seconds: float) -> None:
        done = self._done.get((route, method, outcome, status))
        if done is None:
            done = self._bind_done(route, method, outcome, status)
        done.add(seconds)

    def _bind_done(self, route: str, method: str, outcome: str, status: int) -> _Done:
        key = (route, method, outcome, status)
        method = method if method in METHODS else OTHER
        klass = STATUS_CLASSES[min(max(status // 100, 1), 5) - 1]
        labels = (route, method, outcome, klass)
        child = self._requests.get(labels)
        if child is None:
            child = self._requests[labels] = self.requests.labels(*labels)
        hkey = (route, outcome)
        hist = self._duration.get(hkey)
        if hist is None:
            hist = self._duration[hkey] = self.duration.labels(*hkey)
        done = _Done(child, hist)
        # Keyed by the raw method and status, so bounded here (the series themselves are bounded).
        if len(self._done) >= DONE_CACHE_SIZE:
            self._done.clear()
        self._done[key] = done
        return done

    def rejected(self, rule: str) -> None:
        self._rejection_counts[rule].inc(1)
        self._upstream_calls_saved.inc(1)

    def forwarded(self, reason: str, stage: str) -> None:
        child = self._forwards.get((reason, stage))
        if child is not None:
            child.inc()  # type: ignore[attr-defined]

    def upstream_done(self, route: str, seconds: float) -> None:
        self._upstream_duration[(route,)].observe(seconds)  # type: ignore[attr-defined]

    def upstream_error(self, kind: str) -> None:
        self._upstream_errors[(kind,)].inc()  # type: ignore[attr-defined]

    def shadow_result(self, rule: str, agree: bool) -> None:
        self._shadow[(rule, "agree" if agree else "disagree")].inc()  # type: ignore[attr-defined]

    def missed_rejection(self, message_class: str) -> None:
        self._missed[(message_class,)].inc()  # type: ignore[attr-defined]

    def reloaded(self, ok: bool) -> None:
        if ok:
            self.config_generation.inc()
        self.config_reload_success.set(1 if ok else 0)
        self.config_reload_time.set_to_current_time()

    def check_error(self, stage: str) -> None:
        child = self._check_errors.get((stage,))
        if child is not None:
            child.inc()  # type: ignore[attr-defined]


def _bind(
    metric: MetricWrapperBase, *label_sets: tuple[str, ...]
) -> dict[tuple[str, ...], MetricWrapperBase]:
    """Create every child of the label sets' product and return them keyed by their label tuple."""
    combos: list[tuple[str, ...]] = [()]
    for values in label_sets:
        combos = [(*c, v) for c in combos for v in values]
    return {c: metric.labels(*c) for c in combos}


# prometheus-client's children keep their numbers in value objects (a locked float in one process, a
# slot of the worker's file under multiprocess mode) with one `inc`. Counting once or twice per request
# goes straight to them: the public inc/observe add a state check, an exemplar test and, for a
# histogram, a linear scan of the buckets to every call.


def _value_of(counter: MetricWrapperBase) -> Any:
    return counter._value  # type: ignore[attr-defined]


class _Done:
    """One finished-request series: its request counter and its duration histogram's sum and buckets."""

    __slots__ = ("_bounds", "_buckets", "_count", "_sum")

    def __init__(self, counter: MetricWrapperBase, histogram: MetricWrapperBase) -> None:
        self._count = _value_of(counter)
        self._sum = histogram._sum  # type: ignore[attr-defined]
        self._buckets = histogram._buckets  # type: ignore[attr-defined]
        self._bounds = histogram._upper_bounds  # type: ignore[attr-defined]  # ends with +Inf

    def add(self, seconds: float) -> None:
        self._count.inc(1)
        self._sum.inc(seconds)
        # The first bucket whose bound is >= seconds, as Histogram.observe picks it.
        self._buckets[bisect_left(self._bounds, seconds)].inc(1)
