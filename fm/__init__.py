"""fm command line, settings wiring and the in-process runner."""
