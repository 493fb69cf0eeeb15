"""``GET /api/v1/stream``: live work-order changes as server-sent events."""
