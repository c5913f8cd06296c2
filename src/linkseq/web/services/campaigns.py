"""Campaigns: each funnel (one covered scan of enrollments) and the replies per message step."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from linkseq.campaigns import InmailStep, MessageStep, Step
from linkseq.engine.config import EngineConfig
from linkseq.engine.explain import Forecast, campaign_forecasts
from linkseq.engine.funnel import campaign_funnels
from linkseq.engine.steps import load_spec
from linkseq.errors import LinkseqError
from linkseq.store.enums import (
    ActionKind,
    EnrollmentState,
)
from linkseq.store.models import (
    Campaign,
    CampaignIdentity,
    Enrollment,
    Identity,
    OutboxAction,
)
from linkseq.web.services.views import (
    DONE,
    FUNNEL_STAGES,
    CampaignForecast,
    CampaignView,
    FunnelStage,
    StepRate,
)

__all__ = ["campaign_list", "campaign_steps", "campaign_views"]


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def campaign_views(
    session: Session,
    *,
    campaign_id: int | None = None,
    now: datetime | None = None,
    config: EngineConfig | None = None,
) -> list[CampaignView]:
    """Every campaign (or one) with its funnel, states and reply rate per message step, and at
    `now` its forecast (`linkseq.engine.explain.campaign_forecasts`, as `campaigns status`).

    The funnel is `linkseq.engine.funnel`'s, as the CLI and the demo count it.
    """
    where = [] if campaign_id is None else [Campaign.id == campaign_id]
    campaigns = list(session.scalars(sa.select(Campaign).where(*where).order_by(Campaign.id)))
    if not campaigns:
        return []
    ids = [c.id for c in campaigns]
    names: dict[int, list[str]] = {}
    for cid, name in session.execute(
        sa.select(CampaignIdentity.campaign_id, Identity.name)
        .join(Identity, Identity.id == CampaignIdentity.identity_id)
        .where(CampaignIdentity.campaign_id.in_(ids))
    ):
        names.setdefault(cid, []).append(name)
    funnels = campaign_funnels(session, ids)
    # sends per message step: a range of ix_outbox_actions_steps (the message kinds only), each
    # joined to its enrollment by primary key for the campaign
    per_step: dict[tuple[int, str | None], int] = {}
    for cid, step_id, n in session.execute(
        sa.select(Enrollment.campaign_id, OutboxAction.step_id, sa.func.count())
        .join(Enrollment, Enrollment.id == OutboxAction.enrollment_id)
        .where(
            OutboxAction.status.in_(DONE),
            OutboxAction.kind.in_([ActionKind.MESSAGE, ActionKind.INMAIL]),
            Enrollment.campaign_id.in_(ids),
        )
        .group_by(Enrollment.campaign_id, OutboxAction.step_id)
    ):
        per_step[(cid, step_id)] = n
    # a reply is credited to the last message the lead had received: message_count
    replied_after: dict[tuple[int, int], int] = {}
    for cid, count, n in session.execute(
        sa.select(Enrollment.campaign_id, Enrollment.message_count, sa.func.count())
        .where(Enrollment.state == EnrollmentState.REPLIED, Enrollment.campaign_id.in_(ids))
        .group_by(Enrollment.campaign_id, Enrollment.message_count)
    ):
        replied_after[(cid, count)] = n
    views = []
    forecasts = {} if now is None else campaign_forecasts(session, campaigns, now, config=config)
    for campaign in campaigns:
        cid = campaign.id
        counts = funnels.get(cid) or dict.fromkeys(FUNNEL_STAGES, 0)
        by_state = {k.split(":", 1)[1]: n for k, n in counts.items() if k.startswith("state:")}
        funnel = [
            FunnelStage(
                stage=stage,
                count=counts[stage],
                rate=None if i == 0 else _rate(counts[stage], counts[FUNNEL_STAGES[i - 1]]),
            )
            for i, stage in enumerate(FUNNEL_STAGES)
        ]
        steps: list[StepRate] = []
        message_steps = [
            s for s in campaign_steps(campaign) if isinstance(s, MessageStep | InmailStep)
        ]
        for k, step in enumerate(message_steps, start=1):
            sent = per_step.get((cid, step.id), 0)
            replied = replied_after.get((cid, k), 0)
            steps.append(
                StepRate(step_id=step.id, sent=sent, replied=replied, rate=_rate(replied, sent))
            )
        views.append(
            CampaignView(
                id=cid,
                name=campaign.name,
                status=campaign.status.value,
                priority=campaign.priority,
                identities=sorted(names.get(cid, [])),
                started_at=campaign.started_at,
                funnel=funnel,
                states=dict(sorted(by_state.items())),
                steps=steps,
                forecast=_forecast(forecasts.get(cid)),
            )
        )
    return views


def _forecast(found: Forecast | None) -> CampaignForecast | None:
    if found is None:  # not asked for, or a stored spec that no longer loads
        return None
    return CampaignForecast(
        leads_not_contacted=found.leads_left,
        first_contact=found.first_contact,
        per_day=found.daily_capacity,
        today_left=found.today_left,
        open_now=found.open_now,
        everyone_contacted_by=found.at,
    )


def campaign_steps(campaign: Campaign) -> Sequence[Step]:
    """A campaign's steps, or none when its stored spec no longer loads."""
    try:
        return load_spec(campaign.id, campaign.spec).steps
    except (LinkseqError, ValueError):
        return []


def campaign_list(session: Session) -> list[Campaign]:
    """Campaigns by id (for filters)."""
    return list(session.scalars(sa.select(Campaign).order_by(Campaign.id)))
