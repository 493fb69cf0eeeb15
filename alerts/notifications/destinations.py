"""Who hears about an order change: the stream, the team's topic and the endpoints in scope.

One destination per (change, listener): the SSE stream always, and unless the change pages
nobody (silenced, or linked under an explaining order) the team's MQTT topic and every enabled
endpoint whose scope covers the order.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from alerts.orders.changes import OrderChange
from governance.model import Site, Tier
from sensors.catalogue import Severity
from storage.relational.outbox_models import Channel, NotificationEndpoint, ScopeKind

# Tiers at which an order concerns the community and the street, beyond its grid.
_COMMUNITY_TIERS = frozenset({Tier.COMMUNITY.value, Tier.STREET.value})
_STREET_TIERS = frozenset({Tier.STREET.value})


@dataclass(frozen=True, slots=True)
class Destination:
    """Where one row of a change goes; ``name`` ends its idempotency key."""

    channel: Channel
    name: str
    team_id: str | None = None  # MQTT rows: the team whose workorders topic they go to
    endpoint_id: int | None = None


def endpoint_covers(endpoint: NotificationEndpoint, change: OrderChange, site: Site) -> bool:
    """True when the endpoint's scope includes the order of ``change``.

    Team and grid endpoints hear everything about their grid's orders; community and street
    endpoints hear an order once it sits at (or was escalated to) their tier, or when it is
    critical ("big things don't leave the community"); a department hears the fault codes it
    handles.
    """
    scope, scope_id = endpoint.scope_kind, endpoint.scope_id
    if scope == ScopeKind.TEAM:
        return change.team_id == scope_id
    if scope == ScopeKind.GRID:
        return change.grid_id == scope_id
    critical = change.severity == Severity.CRITICAL.value
    if scope == ScopeKind.COMMUNITY:
        grid = site.grids.get(change.grid_id)
        in_community = grid is not None and grid.community_id == scope_id
        return in_community and (critical or change.tier in _COMMUNITY_TIERS)
    if scope == ScopeKind.STREET:
        return site.street.id == scope_id and (critical or change.tier in _STREET_TIERS)
    if scope == ScopeKind.DEPARTMENT:
        if change.department_id is not None:  # a department's own dispatch, reminder or ack
            return change.department_id == scope_id
        department = site.departments.get(scope_id)
        return department is not None and change.fault_code in department.handles
    return False


def destinations(
    change: OrderChange,
    *,
    site: Site,
    endpoints: Iterable[NotificationEndpoint],
) -> list[Destination]:
    """Every destination of ``change``: stream, team topic, then matching enabled endpoints.

    A change that pages nobody (silenced, or linked under an explaining order) is streamed only.
    """
    found = [Destination(Channel.SSE, "sse")]
    if not change.pages:
        return found
    found.append(Destination(Channel.MQTT, "mqtt", team_id=change.team_id))
    for endpoint in endpoints:
        if endpoint.enabled and endpoint_covers(endpoint, change, site):
            found.append(Destination(Channel(endpoint.kind), f"ep{endpoint.id}", None, endpoint.id))
    return found
