"""Reading netmon's own metrics out of a big exposition, and quantiles from histograms.

A 10,000-device exposition is over a million lines: the prometheus_client parser would
take longer than the scrape. Only a few daemon families are needed, so their lines are
found with one multi-line regex; samples are counted as lines that are not comments.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

Buckets = dict[float, float]


def sample_count(body: bytes) -> int:
    """Lines that are samples (not ``#`` comments, not blank)."""
    lines = body.count(b"\n") + (0 if body.endswith(b"\n") or not body else 1)
    comments = body.count(b"\n#") + (1 if body.startswith(b"#") else 0)
    blanks = body.count(b"\n\n")
    return lines - comments - blanks


def _labels_le(labels: str) -> float | None:
    match = re.search(r'le="([^"]+)"', labels)
    return None if match is None else float(match.group(1))


def series(body: bytes, name: str) -> list[tuple[str, float]]:
    """(labels text, value) of every sample called exactly ``name``."""
    pattern = re.compile(rb"^" + re.escape(name.encode()) + rb"(\{[^\n]*\})? (\S+)", re.M)
    return [((m.group(1) or b"").decode(), float(m.group(2))) for m in pattern.finditer(body)]


def value(body: bytes, name: str) -> float | None:
    """The sum over the series of ``name`` (None: no such series)."""
    got = series(body, name)
    return sum(v for _, v in got) if got else None


@dataclass(frozen=True, slots=True)
class Histogram:
    """Cumulative buckets (upper bound -> count, +Inf included), summed over label sets."""

    buckets: Buckets
    count: float
    total: float

    @classmethod
    def read(cls, body: bytes, name: str, only: str = "") -> Histogram | None:
        """``only``: the label sets whose text holds this (e.g. ``generation="2"``)."""
        buckets: Buckets = {}
        for labels, v in series(body, f"{name}_bucket"):
            le = _labels_le(labels)
            if le is not None and only in labels:
                buckets[le] = buckets.get(le, 0.0) + v
        if not buckets:
            return None

        def total(suffix: str) -> float:
            return sum(v for labels, v in series(body, name + suffix) if only in labels)

        return cls(buckets, total("_count"), total("_sum"))

    def minus(self, earlier: Histogram | None) -> Histogram:
        """The observations made between ``earlier`` and this one."""
        if earlier is None:
            return self
        return Histogram(
            {le: n - earlier.buckets.get(le, 0.0) for le, n in self.buckets.items()},
            self.count - earlier.count,
            self.total - earlier.total,
        )

    def quantile(self, q: float) -> float | None:
        """As PromQL's histogram_quantile: linear within the bucket; in the +Inf bucket, the
        highest finite bound (a lower bound of the truth)."""
        if self.count <= 0:
            return None
        rank = q * self.count
        lower, below = 0.0, 0.0
        for le in sorted(self.buckets):
            n = self.buckets[le]
            if n >= rank:
                if math.isinf(le):
                    return lower
                inside = n - below
                return lower + (le - lower) * ((rank - below) / inside if inside else 1.0)
            lower, below = le, n
        return lower

    def above(self, bound: float) -> float:
        """Observations greater than ``bound`` (``bound`` must be a bucket boundary)."""
        at = self.buckets.get(bound)
        return self.count - at if at is not None else math.nan

    def max_bound(self) -> float | None:
        """The upper bound of the highest bucket that holds an observation: the largest
        observation is at most this (inf: above every finite bound)."""
        top = None
        below = 0.0
        for le in sorted(self.buckets):
            if self.buckets[le] > below:
                top = le
            below = self.buckets[le]
        return top
