"""Work orders raised by faults: reads, lifecycle commands, comments and history."""
