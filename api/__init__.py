"""HTTP API, Open311 and web dashboard. Nothing imports this package."""
