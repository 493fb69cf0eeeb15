"""Closing the loop from the resident's side: confirm or reject the fix, rate it 1-5.

Feedback needs the tracking token (the secret shown once at submission). A rejection of a
resolved order sends it back to work through the lifecycle (``start`` from ``resolved`` is the
rework transition), so the team's deadlines and notifications restart as for any rework.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from alerts.orders.lifecycle import Action, transition
from governance.model import Site
from residents.errors import FeedbackRefusedError, InvalidReportError
from residents.public import report_by_token
from storage.relational.models import OrderStatus, WorkOrder
from storage.relational.resident_models import ResidentReport

#: The rating scale residents use.
RATING_MIN, RATING_MAX = 1, 5
_RATEABLE = frozenset({OrderStatus.RESOLVED, OrderStatus.CLOSED})


@dataclass(frozen=True, slots=True)
class Feedback:
    """What the resident says about the fix (every part optional, at least one given)."""

    accepted: bool | None = None  # True confirms the fix, False rejects it
    rating: int | None = None
    comment: str | None = None


async def give_feedback(
    session: AsyncSession,
    *,
    site: Site,
    token: str,
    feedback: Feedback,
    max_comment_chars: int,
    now: datetime,
) -> ResidentReport:
    """Record ``feedback`` on the report of ``token``; a rejection reopens its order."""
    _check(feedback, max_comment_chars=max_comment_chars)
    report = await report_by_token(session, token)
    order = await session.get(WorkOrder, report.order_id, populate_existing=True)
    assert order is not None  # a foreign key guarantees it
    status = OrderStatus(order.status)
    if status not in _RATEABLE:
        raise FeedbackRefusedError(
            f"the order is {status.value}: feedback opens once the team reports it fixed"
        )
    if feedback.accepted is False:
        if status is not OrderStatus.RESOLVED:
            raise FeedbackRefusedError(
                "the order is already closed; submit a new report if the problem is back"
            )
        note = "a resident rejected the fix"
        if feedback.comment:
            note = f"{note}: {feedback.comment}"
        await transition(
            session,
            site=site,
            order_id=order.id,
            action=Action.START,
            version=order.version,
            actor=f"resident:{report.service_request_id}",
            note=note,
            now=now,
        )
        report.rejections += 1
    if feedback.accepted is not None:
        report.confirmed = feedback.accepted
    if feedback.rating is not None:
        report.rating = feedback.rating
    if feedback.comment is not None:
        report.feedback_comment = feedback.comment
    report.feedback_at = now
    report.updated_at = now
    await session.flush()
    return report


def _check(feedback: Feedback, *, max_comment_chars: int) -> None:
    if feedback.accepted is None and feedback.rating is None and not feedback.comment:
        raise InvalidReportError("give accepted (true or false), a rating, or a comment")
    if feedback.rating is not None and not RATING_MIN <= feedback.rating <= RATING_MAX:
        raise InvalidReportError(f"rating must be between {RATING_MIN} and {RATING_MAX}")
    if feedback.comment is not None and len(feedback.comment) > max_comment_chars:
        raise InvalidReportError(f"comment is longer than {max_comment_chars} characters")
