"""Work orders raised by faults, read-only so far."""
