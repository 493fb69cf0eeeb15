"""HTTP API, Open311 and web dashboard. Only ``fm.runner`` imports this package, to serve it."""
