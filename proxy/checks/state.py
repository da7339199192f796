"""Per-request scratch state shared by the stages of one pipeline run."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from proxy.gocompat.json_decode import DecodeResult


@dataclass(slots=True)
class CheckState:
    now: datetime  # the clock is read once, by the caller: stages stay pure
    skew: timedelta  # due dates nearer than this to `now` are forwarded (Clever's clock may differ)
    max_judged_body: int  # larger bodies are forwarded unjudged
    decoded: DecodeResult | None = None
    query_ints: dict[str, int] = field(default_factory=dict)
