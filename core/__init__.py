"""Shared bottom layer: settings, device events, clock, backoff, broker address."""
