"""Shared bottom layer: settings, device events, clock."""
