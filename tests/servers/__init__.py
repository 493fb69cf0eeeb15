"""Fixtures that run real server processes (no Docker, no mocks)."""
