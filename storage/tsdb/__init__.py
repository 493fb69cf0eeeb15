"""Time-series store port and adapters (SQLite embedded, InfluxDB v1 HTTP API)."""
