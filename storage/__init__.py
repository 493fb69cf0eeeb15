"""Storage: relational store (SQLAlchemy 2 + Alembic) and time-series store port with adapters."""
