"""Duty rosters: ``GET/POST/DELETE /api/v1/rosters``."""
