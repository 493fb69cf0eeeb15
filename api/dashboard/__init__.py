"""The web dashboard: static files, no build step, nothing loaded from elsewhere."""
