"""Fixture starting a real mosquitto process on a free port in a temporary directory."""
