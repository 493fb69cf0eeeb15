"""``GET /api/v1/sla-policies``, ``PUT /api/v1/sla-policies`` and ``PUT …/{severity}``."""

from __future__ import annotations

from typing import Annotated, Self

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field, model_validator

from alerts.escalation.sla import MAX_DEADLINE_S, SlaTimes, list_policies, put_policy
from api.deps import AdminDep, NowDep, SessionDep
from api.errors import InvalidRequestError
from api.responses import REQUEST_ERRORS
from api.schemas import ApiModel, UtcTimestamp
from sensors.catalogue import Severity

router = APIRouter(prefix="/api/v1/sla-policies", tags=["SLA and escalation"])

Seconds = Annotated[int, Field(gt=0, le=MAX_DEADLINE_S)]


class SlaTimesIn(BaseModel):
    """Deadlines of one severity, in seconds."""

    model_config = ConfigDict(extra="forbid")

    ack_s: Seconds
    resolve_s: Seconds
    reminder_s: Seconds
    department_ack_s: Seconds

    @model_validator(mode="after")
    def _resolve_after_ack(self) -> Self:
        if self.resolve_s < self.ack_s:
            raise ValueError("resolve_s must not be shorter than ack_s")
        return self

    def times(self) -> SlaTimes:
        """As the alerts value type."""
        return SlaTimes(
            ack_s=self.ack_s,
            resolve_s=self.resolve_s,
            reminder_s=self.reminder_s,
            department_ack_s=self.department_ack_s,
        )


class SlaPolicyIn(SlaTimesIn):
    """One severity's policy in a bulk update."""

    severity: Severity


class SlaPolicyOut(ApiModel):
    """A stored policy."""

    severity: Severity
    ack_s: int
    resolve_s: int
    reminder_s: int
    department_ack_s: int
    updated_at: UtcTimestamp


@router.get("", summary="SLA policies, most severe first", responses=REQUEST_ERRORS)
async def list_policies_route(_admin: AdminDep, session: SessionDep) -> list[SlaPolicyOut]:
    """Every policy."""
    return [SlaPolicyOut.model_validate(row) for row in await list_policies(session)]


@router.put("", summary="Create or replace several policies at once", responses=REQUEST_ERRORS)
async def put_policies_route(
    body: list[SlaPolicyIn], _admin: AdminDep, session: SessionDep, now: NowDep
) -> list[SlaPolicyOut]:
    """Upsert the given severities (each at most once); open orders keep their clocks."""
    severities = [policy.severity for policy in body]
    if len(set(severities)) != len(severities):
        raise InvalidRequestError("each severity may appear only once")
    for policy in body:
        await put_policy(session, severity=policy.severity, times=policy.times(), now=now)
    return [SlaPolicyOut.model_validate(row) for row in await list_policies(session)]


@router.put(
    "/{severity}", summary="Create or replace one severity's policy", responses=REQUEST_ERRORS
)
async def put_policy_route(
    severity: Severity, body: SlaTimesIn, _admin: AdminDep, session: SessionDep, now: NowDep
) -> SlaPolicyOut:
    """Upsert one policy; new clocks (openings, escalations) use it at once."""
    row = await put_policy(session, severity=severity, times=body.times(), now=now)
    return SlaPolicyOut.model_validate(row)
