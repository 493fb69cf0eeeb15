"""Fixture starting a real influxdb process on a free port in a temporary directory."""
