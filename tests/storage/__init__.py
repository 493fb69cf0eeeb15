"""Tests of the relational migrations and the time-series adapters."""
