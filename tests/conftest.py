"""Shared fixtures. Real-server fixtures live in tests/servers/ (one module per server)."""

pytest_plugins = [
    "tests.servers.mosquitto",
    "tests.servers.postgres",
    "tests.servers.influxdb",
]
