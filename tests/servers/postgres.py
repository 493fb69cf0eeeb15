"""Fixture starting a real postgres process on a free port in a temporary directory."""
