"""Prometheus collectors of the alerts side: intake, relay, sweeper, and the relational gauges."""
