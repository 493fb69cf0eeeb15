"""Interval algebra on half-open ``[start, end)`` spans of epoch seconds, in linear sweeps.

Every list here is sorted by start and, where the name says *merged*, free of overlaps; the
functions keep those properties so callers can chain them without sorting again.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

#: ``(start, end)`` in seconds since the epoch, ``start < end``.
Span = tuple[float, float]


def merge(spans: Iterable[Span]) -> list[Span]:
    """The union of spans sorted by start, as merged spans (touching spans join)."""
    merged: list[Span] = []
    for start, end in spans:
        if end <= start:
            continue
        if merged and start <= merged[-1][1]:
            if end > merged[-1][1]:
                merged[-1] = (merged[-1][0], end)
        else:
            merged.append((start, end))
    return merged


def clip(spans: Iterable[Span], low: float, high: float) -> list[Span]:
    """The parts of sorted spans inside ``[low, high)``."""
    clipped: list[Span] = []
    for start, end in spans:
        start, end = max(start, low), min(end, high)
        if start < end:
            clipped.append((start, end))
    return clipped


def subtract(spans: Sequence[Span], holes: Sequence[Span]) -> list[Span]:
    """Merged ``spans`` minus merged ``holes``, in one pass over both."""
    if not holes:
        return list(spans)
    result: list[Span] = []
    hole = 0
    for start, end in spans:
        # Holes ending before this span cannot touch any later span either.
        while hole < len(holes) and holes[hole][1] <= start:
            hole += 1
        cursor, index = start, hole
        while index < len(holes) and holes[index][0] < end:
            hole_start, hole_end = holes[index]
            if hole_start > cursor:
                result.append((cursor, hole_start))
            cursor = max(cursor, hole_end)
            index += 1
        if cursor < end:
            result.append((cursor, end))
    return result


def total(spans: Iterable[Span]) -> float:
    """The summed length of spans (their measure, when they are merged)."""
    return sum(end - start for start, end in spans)


def overlap(span: Span, low: float, high: float) -> float:
    """The length of ``span ∩ [low, high)``."""
    return max(0.0, min(span[1], high) - max(span[0], low))


def add_to_buckets(spans: Sequence[Span], edges: Sequence[float], sums: list[float]) -> None:
    """Add each span's length inside bucket ``i`` (``[edges[i], edges[i+1])``) to ``sums[i]``.

    Spans are merged and lie inside ``[edges[0], edges[-1])``; both lists are sorted, so one walk
    over them replaces a search per span.
    """
    index, last = 0, len(edges) - 2
    for start, end in spans:
        while index < last and edges[index + 1] <= start:
            index += 1
        if end <= edges[index + 1]:
            sums[index] += end - start
            continue
        cursor = index
        while cursor <= last and edges[cursor] < end:
            sums[cursor] += overlap((start, end), edges[cursor], edges[cursor + 1])
            cursor += 1
