"""Uptime and report routes: ``/api/v1/uptime`` and ``/api/v1/reports/…`` (docs/reports.md)."""
