"""Gateway: MQTT ingestion, validation, fault rules, liveness, batched telemetry writes."""
