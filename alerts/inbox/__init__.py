"""The durable hand-off between ``fm gateway`` and a separate ``fm alerts`` process."""
