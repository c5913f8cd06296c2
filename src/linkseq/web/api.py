"""The JSON API under `/api` (OpenAPI at `/openapi.json`): the dashboard's read models and actions.

It shares `linkseq.web.services` with the pages, and their login: open on loopback, otherwise
`Authorization: Bearer <LINKSEQ_UI_TOKEN>` (or the dashboard's cookie).
"""

from __future__ import annotations

import tempfile
from datetime import datetime
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, Form, HTTPException, Query, UploadFile
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from linkseq.errors import ConfigError, InputError, LinkseqError, NotFoundError
from linkseq.store.enums import CampaignStatus
from linkseq.web import services as svc
from linkseq.web.app import Services
from linkseq.web.ui import MAX_UPLOAD, engine_config, get_services, get_session, require_login

__all__ = ["MarkBody", "ReplyBody", "router"]

router = APIRouter(prefix="/api", tags=["dashboard"], dependencies=[Depends(require_login)])

ServicesDep = Annotated[Services, Depends(get_services)]
SessionDep = Annotated[Session, Depends(get_session)]


def _http(exc: LinkseqError) -> HTTPException:
    """A linkseq error as the HTTP answer it deserves."""
    if isinstance(exc, NotFoundError):
        return HTTPException(404, str(exc))
    if isinstance(exc, svc.Conflict):
        return HTTPException(409, str(exc))
    if isinstance(exc, ConfigError):
        return HTTPException(503, str(exc))
    return HTTPException(400, str(exc))


class ReplyBody(BaseModel):
    """A reply from the inbox."""

    text: str = Field(min_length=1, max_length=8000)
    token: str = Field(
        min_length=8, max_length=64, description="the thread's `reply_token` (one send per token)"
    )
    seen_at: datetime | None = Field(
        None, description="the thread's `seen_at`: refused (409) if the lead wrote after it"
    )


class MarkBody(BaseModel):
    """Interested or not: either stops the lead's automation."""

    interested: bool


@router.get("/campaigns", response_model=list[svc.CampaignView])
def campaigns(session: SessionDep, services: ServicesDep) -> list[svc.CampaignView]:
    """Every campaign with its funnel, reply rate per message step and forecast."""
    return svc.campaign_views(session, now=services.clock.now(), config=engine_config(services))


@router.get("/campaigns/{campaign_id}", response_model=svc.CampaignView)
def campaign(campaign_id: int, session: SessionDep, services: ServicesDep) -> svc.CampaignView:
    """One campaign with its funnel and forecast."""
    views = svc.campaign_views(
        session, campaign_id=campaign_id, now=services.clock.now(), config=engine_config(services)
    )
    if not views:
        raise HTTPException(404, f"no campaign {campaign_id}")
    return views[0]


def _set(
    session: Session, services: Services, campaign_id: int, status: CampaignStatus
) -> svc.CampaignView:
    try:
        return svc.set_campaign_status(
            session,
            campaign_id=campaign_id,
            status=status,
            now=services.clock.now(),
            config=engine_config(services),
        )
    except LinkseqError as exc:
        raise _http(exc) from None


@router.post("/campaigns/{campaign_id}/start", response_model=svc.CampaignView)
def start_campaign(
    campaign_id: int, session: SessionDep, services: ServicesDep
) -> svc.CampaignView:
    """Start (or resume) a campaign."""
    return _set(session, services, campaign_id, CampaignStatus.ACTIVE)


@router.post("/campaigns/{campaign_id}/pause", response_model=svc.CampaignView)
def pause_campaign(
    campaign_id: int, session: SessionDep, services: ServicesDep
) -> svc.CampaignView:
    """Pause a campaign: nothing is sent for it until started again."""
    return _set(session, services, campaign_id, CampaignStatus.PAUSED)


@router.get("/identities", response_model=list[svc.IdentityView])
def identities(session: SessionDep, services: ServicesDep) -> list[svc.IdentityView]:
    """Identities: session status, today's quota use against limits, ramp-up day, invitations."""
    return svc.identity_views(session, now=services.clock.now(), config=engine_config(services))


@router.get("/leads", response_model=svc.LeadPage)
def leads(
    session: SessionDep,
    campaign_id: int | None = None,
    state: str | None = None,
    identity_id: int | None = None,
    q: Annotated[str | None, Query(description="name, company or profile URL contains")] = None,
    page: Annotated[int, Query(ge=1)] = 1,
    per_page: Annotated[int, Query(ge=1, le=500)] = 50,
) -> svc.LeadPage:
    """Leads in campaigns (one row per enrollment), filtered and searched, newest first."""
    try:
        return svc.list_leads(
            session,
            campaign_id=campaign_id,
            state=state,
            identity_id=identity_id,
            search=q,
            page=page,
            per_page=per_page,
        )
    except LinkseqError as exc:
        raise _http(exc) from None


@router.get("/leads/{lead_id}", response_model=svc.LeadDetail)
def lead(lead_id: int, session: SessionDep, services: ServicesDep) -> svc.LeadDetail:
    """A lead: each campaign's "why it waits / what's next", and the audit trail."""
    try:
        return svc.lead_detail(
            session, lead_id=lead_id, now=services.clock.now(), config=engine_config(services)
        )
    except LinkseqError as exc:
        raise _http(exc) from None


@router.get("/leads/{lead_id}/audit", response_model=list[svc.AuditRow])
def lead_audit(lead_id: int, session: SessionDep, services: ServicesDep) -> list[svc.AuditRow]:
    """A lead's full audit trail, oldest first."""
    return lead(lead_id, session, services).audit


@router.post("/leads/{lead_id}/mark", response_model=list[svc.EnrollmentView])
def mark_lead(
    lead_id: int, body: MarkBody, session: SessionDep, services: ServicesDep
) -> list[svc.EnrollmentView]:
    """Interested (→ replied) or not interested (→ skipped): the lead's automation stops."""
    try:
        return svc.mark_lead(
            session, lead_id=lead_id, interested=body.interested, now=services.clock.now()
        )
    except LinkseqError as exc:
        raise _http(exc) from None


@router.post("/leads/import", response_model=svc.ImportResult)
async def import_leads(
    services: ServicesDep,
    file: UploadFile,
    campaign: Annotated[str | None, Form()] = None,
    dry_run: Annotated[bool, Form()] = False,
) -> svc.ImportResult:
    """Upload a CSV: the checks of `linkseq leads import`; bad rows come back with their line."""
    data = await file.read(MAX_UPLOAD + 1)
    if len(data) > MAX_UPLOAD:
        raise HTTPException(413, "the file is over 50 MB: use `linkseq leads import`")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / Path(file.filename or "upload.csv").name
        path.write_bytes(data)
        try:
            with services.sessions() as session:
                return svc.import_leads(
                    session,
                    path=path,
                    now=services.clock.now(),
                    campaign=campaign,
                    dry_run=dry_run,
                )
        except LinkseqError as exc:
            raise _http(InputError(str(exc).replace(str(path), path.name))) from None


@router.get("/threads", response_model=svc.ThreadPage)
def threads(
    session: SessionDep,
    identity_id: int | None = None,
    unread: bool = False,
    page: Annotated[int, Query(ge=1)] = 1,
    per_page: Annotated[int, Query(ge=1, le=200)] = 50,
) -> svc.ThreadPage:
    """Every thread of every identity, newest first (`lead_wrote_last` flags a reply)."""
    return svc.list_threads(
        session, identity_id=identity_id, unread_only=unread, page=page, per_page=per_page
    )


@router.get("/threads/{thread_id}", response_model=svc.ThreadDetail)
def thread(
    thread_id: int, session: SessionDep, services: ServicesDep, refresh: bool = False
) -> svc.ThreadDetail:
    """A thread's messages (read with extract-messages when the cache is behind, then cached)."""
    try:
        return svc.open_thread(
            session,
            thread_id=thread_id,
            client_factory=services.edges,
            settings=services.settings,
            refresh=refresh,
        )
    except LinkseqError as exc:
        raise _http(exc) from None


@router.post("/threads/{thread_id}/reply", response_model=svc.ReplyResult)
def reply(
    thread_id: int, body: ReplyBody, session: SessionDep, services: ServicesDep
) -> svc.ReplyResult:
    """Send a live message in the thread: conversations synced first; 409 if the lead wrote."""
    try:
        return svc.reply(
            session,
            thread_id=thread_id,
            text=body.text,
            seen_at=body.seen_at,
            token=body.token,
            client_factory=services.edges,
            settings=services.settings,
            now=services.clock.now,
            config=engine_config(services),
        )
    except LinkseqError as exc:
        session.rollback()
        raise _http(exc) from None
