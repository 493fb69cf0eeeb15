"""``GET /metrics``: Prometheus text exposition of the API process and the stores it reads."""
