"""Relational store: work orders, episodes, outbox. SQLite by default, PostgreSQL in production."""
