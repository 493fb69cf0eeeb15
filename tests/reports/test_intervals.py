"""Interval algebra: union, clipping, subtraction and bucket sums, against sets of integers."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from reports.intervals import Span, add_to_buckets, clip, merge, subtract, total

spans = st.lists(
    st.tuples(st.integers(0, 60), st.integers(1, 20)).map(lambda p: (float(p[0]), float(sum(p)))),
    max_size=8,
)


def _points(spans: list[Span]) -> set[int]:
    """The integer seconds covered: a brute-force model of a set of spans."""
    return {second for start, end in spans for second in range(int(start), int(end))}


def test_merge_joins_overlapping_and_touching_spans() -> None:
    assert merge([(0, 5), (3, 8), (8, 10), (12, 13)]) == [(0, 10), (12, 13)]
    assert merge([(0, 10), (2, 3)]) == [(0, 10)]


def test_subtract_cuts_holes_inside_and_across_edges() -> None:
    assert subtract([(0, 10), (20, 30)], [(-5, 2), (4, 6), (9, 22)]) == [
        (2, 4),
        (6, 9),
        (22, 30),
    ]
    assert subtract([(0, 10)], [(0, 10)]) == []


def test_buckets_split_a_span_over_their_edges() -> None:
    sums = [0.0, 0.0, 0.0]
    add_to_buckets([(5, 25), (29, 40)], [0, 10, 20, 30], sums)
    assert sums == [5, 10, 6]


@given(spans, spans)
def test_algebra_matches_sets_of_seconds(a: list[Span], b: list[Span]) -> None:
    merged_a, merged_b = merge(sorted(a)), merge(sorted(b))
    assert _points(merged_a) == _points(a)
    assert total(merged_a) == len(_points(a))
    assert _points(subtract(merged_a, merged_b)) == _points(a) - _points(b)
    assert _points(clip(merged_a, 10, 40)) == _points(a) & set(range(10, 40))
    edges = [0.0, 7.0, 30.0, 55.0, 90.0]
    sums = [0.0] * 4
    add_to_buckets(merged_a, edges, sums)
    for index, got in enumerate(sums):
        bucket = set(range(int(edges[index]), int(edges[index + 1])))
        assert got == len(_points(a) & bucket)
