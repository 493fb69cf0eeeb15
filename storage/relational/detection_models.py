"""Detection tables: rule/liveness checkpoints of the gateway, devices of building incidents."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from storage.relational.models import Base, UtcDateTime


class GatewayState(Base):
    """The last checkpoint of one device's rule and liveness state (JSON), for gateway restarts."""

    __tablename__ = "gateway_state"

    device_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    state: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())


class IncidentDevice(Base):
    """A device attached to a building-scoped incident order (root-cause grouping)."""

    __tablename__ = "incident_devices"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    work_order_id: Mapped[int] = mapped_column(ForeignKey("work_orders.id"))
    device_id: Mapped[str] = mapped_column(String(64))
    code: Mapped[str] = mapped_column(String(64))
    group_id: Mapped[str] = mapped_column(String(140))
    attached_at: Mapped[datetime] = mapped_column(UtcDateTime())
    detached_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    # "device_id:code" while attached, NULL after: a device sits in at most one open incident.
    open_key: Mapped[str | None] = mapped_column(String(140), unique=True)

    __table_args__ = (Index("ix_incident_devices_order", "work_order_id"),)
