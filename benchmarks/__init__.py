"""Benchmarks of facility monitor (``python -m benchmarks``); not part of the distribution."""
