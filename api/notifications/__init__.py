"""Notification endpoints (webhook, WeCom, DingTalk) and the outbox's dead letters."""
