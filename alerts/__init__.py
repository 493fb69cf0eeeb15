"""Alerts: device events → episodes → routed work orders."""
