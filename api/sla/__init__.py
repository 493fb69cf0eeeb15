"""SLA policies per severity: ``GET/PUT /api/v1/sla-policies``."""
