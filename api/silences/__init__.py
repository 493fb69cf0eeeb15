"""Silences (maintenance windows): ``GET/POST/DELETE /api/v1/silences``."""
