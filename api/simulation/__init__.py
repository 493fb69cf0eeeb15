"""Fault injection into the running demo's own simulated fleet."""
