"""A migrated SQLite database per test for the detection tests that need the relational store."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage.relational.db import create_engine, session_factory
from storage.relational.migrate import upgrade_database


@pytest.fixture
async def sessions(tmp_path: Path) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    """Sessions on a freshly migrated SQLite file (the real migrations, 0006 included)."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'fm.sqlite3'}"
    await upgrade_database(url)
    engine = create_engine(url)
    try:
        yield session_factory(engine)
    finally:
        await engine.dispose()
