"""Every ORM model module, imported so ``metadata`` is complete (Alembic and schema checks).

Each domain keeps its tables in its own module; add the module here when you add one.
"""

from __future__ import annotations

from storage.relational import (
    detection_models,
    inbox_models,
    lifecycle_models,
    models,
    outbox_models,
    resident_models,
    sla_models,
)
from storage.relational.models import Base

MODEL_MODULES = (
    models,
    outbox_models,
    sla_models,
    detection_models,
    lifecycle_models,
    inbox_models,
    resident_models,
)

metadata = Base.metadata

__all__ = ["MODEL_MODULES", "metadata"]
