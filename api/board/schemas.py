"""Response bodies of ``GET /api/v1/board``."""

from __future__ import annotations

from enum import StrEnum

from api.schemas import ApiModel, UtcTimestamp


class Colour(StrEnum):
    """Red: an overdue or critical open order; yellow: anything open or unwell; else green."""

    GREEN = "green"
    YELLOW = "yellow"
    RED = "red"


class TileOut(ApiModel):
    """One community, grid or the whole street, summed over its buildings."""

    id: str
    name: str
    colour: Colour
    open_orders: int
    overdue: int
    critical: int
    devices: int
    faulty: int
    offline: int


class BuildingMarkOut(ApiModel):
    """One building on the schematic map; ``x``/``y`` are in the map's SVG box."""

    id: str
    name: str
    grid_id: str
    lat: float | None
    lon: float | None
    x: float | None
    y: float | None
    colour: Colour
    open_orders: int
    devices: int
    faulty: int
    offline: int


class BoardOut(ApiModel):
    """The whole street at one instant."""

    generated_at: UtcTimestamp
    street: TileOut
    communities: list[TileOut]
    grids: list[TileOut]
    buildings: list[BuildingMarkOut]
