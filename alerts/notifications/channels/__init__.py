"""Delivery channels of the outbox: MQTT, HMAC webhooks, WeCom and DingTalk robots, SSE."""
