"""Placing buildings on the board's schematic map: lat/lon projected into a fixed SVG box."""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

from governance.model import Building

#: The map's SVG viewBox is ``0 0 MAP_WIDTH MAP_HEIGHT``; the page scales it to the screen.
MAP_WIDTH = 1000.0
MAP_HEIGHT = 600.0
#: Space kept free round the edge so markers on the outermost buildings are not cut off.
MAP_MARGIN = 30.0


@dataclass(frozen=True, slots=True)
class MapPoint:
    """A position in the SVG box (y grows downwards, north is up)."""

    x: float
    y: float


@dataclass(frozen=True, slots=True)
class Projection:
    """Equirectangular over the site's bounding box, one scale for both axes (no distortion)."""

    west: float
    north: float
    scale: float
    x_offset: float
    y_offset: float
    lon_factor: float

    @classmethod
    def fitting(cls, buildings: Iterable[Building]) -> Projection | None:
        """The projection showing every located building, or None when none has coordinates."""
        located = [
            (b.location.lat, b.location.lon)
            for b in buildings
            if b.location.lat is not None and b.location.lon is not None
        ]
        if not located:
            return None
        lats = [lat for lat, _ in located]
        lons = [lon for _, lon in located]
        # A degree of longitude shrinks with the cosine of the latitude.
        lon_factor = math.cos(math.radians((min(lats) + max(lats)) / 2))
        span_x = (max(lons) - min(lons)) * lon_factor
        span_y = max(lats) - min(lats)
        usable_w, usable_h = MAP_WIDTH - 2 * MAP_MARGIN, MAP_HEIGHT - 2 * MAP_MARGIN
        scales = [usable_w / span_x] if span_x else []
        scales += [usable_h / span_y] if span_y else []
        scale = min(scales, default=0.0)
        return cls(
            west=min(lons),
            north=max(lats),
            scale=scale,
            # Centre the drawing in the box along the axis with room to spare.
            x_offset=MAP_MARGIN + (usable_w - span_x * scale) / 2,
            y_offset=MAP_MARGIN + (usable_h - span_y * scale) / 2,
            lon_factor=lon_factor,
        )

    def place(self, building: Building) -> MapPoint | None:
        """Where ``building`` goes, or None when it has no coordinates."""
        lat, lon = building.location.lat, building.location.lon
        if lat is None or lon is None:
            return None
        return MapPoint(
            x=round(self.x_offset + (lon - self.west) * self.lon_factor * self.scale, 1),
            y=round(self.y_offset + (self.north - lat) * self.scale, 1),
        )
