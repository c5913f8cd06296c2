"""The dashboard: server-rendered pages (Jinja2) made lively with htmx 2 (a vendored static file).

Pages: campaigns (funnel, start/pause), identities (session, quotas, ramp-up), leads (filters,
search, why it waits, audit trail, CSV upload) and the unified inbox (threads, messages, reply,
interested / not interested). Each works without JavaScript (plain forms and links); htmx swaps
only the part that changed.

Login: the dashboard is open on a loopback address. When `linkseq serve` listens elsewhere (it
sets `services.extra["bind_host"]`), or whenever `LINKSEQ_UI_TOKEN` is set, a token is required:
a form takes it and sets an HttpOnly cookie holding an HMAC of the token (never the token itself);
API clients may send `Authorization: Bearer <token>` instead.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import tempfile
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Depends, Form, HTTPException, Request, UploadFile
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from sqlalchemy.orm import Session

from linkseq.engine.config import EngineConfig
from linkseq.errors import ConfigError, LinkseqError, NotFoundError
from linkseq.store.enums import CampaignStatus, EnrollmentState
from linkseq.web import services as svc
from linkseq.web.app import Services

__all__ = [
    "COOKIE",
    "engine_config",
    "get_services",
    "get_session",
    "login_required",
    "require_login",
    "router",
    "session_cookie_value",
    "templates",
]

HERE = Path(__file__).resolve().parent
STATIC = HERE / "static"
COOKIE = "linkseq_ui"
MAX_UPLOAD = 50 * 1024 * 1024

templates = Jinja2Templates(directory=str(HERE / "templates"))


def _when(value: datetime | None) -> str:
    return "—" if value is None else f"{value:%Y-%m-%d %H:%M}"


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f}%"


templates.env.filters["when"] = _when
templates.env.filters["pct"] = _pct


# --- dependencies --------------------------------------------------------------------------------


def get_services(request: Request) -> Services:
    """The app's injected services."""
    services: Services = request.app.state.services
    return services


def get_session(services: Annotated[Services, Depends(get_services)]) -> Iterator[Session]:
    """A database session for one request."""
    with services.sessions() as session:
        yield session


def engine_config(services: Services) -> EngineConfig:
    """The engine's limits as the settings give them (quota arithmetic must match the worker)."""
    return EngineConfig.from_settings(services.settings)


# --- login ---------------------------------------------------------------------------------------


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def login_required(services: Services) -> bool:
    """True when a token is needed: a token is set, or the server listens beyond loopback."""
    host = str(services.extra.get("bind_host", "127.0.0.1"))
    return services.settings.ui_token is not None or not _is_loopback(host)


def session_cookie_value(token: str) -> str:
    """What the login cookie holds: an HMAC of the token, so the cookie never reveals it."""
    return hmac.new(token.encode(), b"linkseq-ui-session", hashlib.sha256).hexdigest()


def _authenticated(request: Request, services: Services) -> bool:
    secret = services.settings.ui_token
    if secret is None:
        return False
    token = secret.get_secret_value()
    cookie = request.cookies.get(COOKIE, "")
    if cookie and hmac.compare_digest(cookie, session_cookie_value(token)):
        return True
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        return hmac.compare_digest(header[7:].strip().encode(), token.encode())
    return False


def require_login(request: Request, services: Annotated[Services, Depends(get_services)]) -> None:
    """Refuse a request without the login token when one is needed (pages redirect to /login)."""
    if not login_required(services) or _authenticated(request, services):
        return
    if services.settings.ui_token is None:
        raise HTTPException(
            503, "the dashboard listens beyond 127.0.0.1: set LINKSEQ_UI_TOKEN to log in"
        )
    if request.url.path.startswith("/api/"):
        raise HTTPException(401, "log in: Authorization: Bearer <LINKSEQ_UI_TOKEN>")
    target = "/login?" + urlencode({"next": request.url.path})
    headers = {"Location": target}
    if request.headers.get("hx-request"):
        headers["HX-Redirect"] = target
    raise HTTPException(303, "log in first", headers=headers)


router = APIRouter(include_in_schema=False)
pages = APIRouter(dependencies=[Depends(require_login)], include_in_schema=False)

SessionDep = Annotated[Session, Depends(get_session)]
ServicesDep = Annotated[Services, Depends(get_services)]


@router.get("/static/{name}")
def static(name: str) -> FileResponse:
    """The vendored htmx and the style sheet (no CDN)."""
    path = STATIC / name
    if "/" in name or name.startswith(".") or not path.is_file():
        raise HTTPException(404, "not found")
    return FileResponse(path, headers={"Cache-Control": "public, max-age=3600"})


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, next: str = "/campaigns") -> Response:
    """The token form."""
    return templates.TemplateResponse(
        request, "login.html", {"next": _safe_next(next), "error": None, "title": "Log in"}
    )


@router.post("/login", response_class=HTMLResponse)
def login(
    request: Request,
    services: ServicesDep,
    token: Annotated[str, Form()],
    next: Annotated[str, Form()] = "/campaigns",
) -> Response:
    """Check the token and set the session cookie."""
    secret = services.settings.ui_token
    if secret is None or not hmac.compare_digest(
        token.strip().encode(), secret.get_secret_value().encode()
    ):
        return templates.TemplateResponse(
            request,
            "login.html",
            {"next": _safe_next(next), "error": "wrong token", "title": "Log in"},
            status_code=401,
        )
    response = RedirectResponse(_safe_next(next), status_code=303)
    response.set_cookie(
        COOKIE,
        session_cookie_value(secret.get_secret_value()),
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
        max_age=30 * 86400,
    )
    return response


@router.post("/logout")
def logout() -> Response:
    """Forget the session cookie."""
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(COOKIE)
    return response


def _safe_next(target: str) -> str:
    # only local paths: never an open redirect to another site
    return target if target.startswith("/") and not target.startswith("//") else "/campaigns"


# --- pages ---------------------------------------------------------------------------------------


def _render(
    request: Request, name: str, context: dict[str, Any], status_code: int = 200
) -> Response:
    return templates.TemplateResponse(request, name, context, status_code=status_code)


def _partial(request: Request, target: str) -> bool:
    """True when htmx asks for just one region (`HX-Target`)."""
    return request.headers.get("hx-target") == target


@pages.get("/", response_class=HTMLResponse)
def home() -> Response:
    """The dashboard starts at the campaigns."""
    return RedirectResponse("/campaigns", status_code=303)


@pages.get("/campaigns", response_class=HTMLResponse)
def campaigns_page(request: Request, session: SessionDep, services: ServicesDep) -> Response:
    """Campaigns with their funnels and forecasts."""
    views = svc.campaign_views(session, now=services.clock.now(), config=engine_config(services))
    return _render(
        request, "campaigns.html", {"campaigns": views, "title": "Campaigns", "nav": "campaigns"}
    )


@pages.post("/campaigns/{campaign_id}/{action}", response_class=HTMLResponse)
def campaign_action(
    request: Request, campaign_id: int, action: str, session: SessionDep, services: ServicesDep
) -> Response:
    """Start or pause a campaign (htmx swaps its card; a plain form is redirected)."""
    status = {"start": CampaignStatus.ACTIVE, "pause": CampaignStatus.PAUSED}.get(action)
    if status is None:
        raise HTTPException(404, "unknown action")
    try:
        view = svc.set_campaign_status(
            session,
            campaign_id=campaign_id,
            status=status,
            now=services.clock.now(),
            config=engine_config(services),
        )
    except NotFoundError as exc:
        raise HTTPException(404, str(exc)) from None
    except LinkseqError as exc:
        raise HTTPException(400, str(exc)) from None
    if request.headers.get("hx-request"):
        return _render(request, "_campaign.html", {"c": view})
    return RedirectResponse("/campaigns", status_code=303)


@pages.get("/identities", response_class=HTMLResponse)
def identities_page(request: Request, session: SessionDep, services: ServicesDep) -> Response:
    """Identities: session status, today's quota use, ramp-up day, pending invitations."""
    views = svc.identity_views(session, now=services.clock.now(), config=engine_config(services))
    return _render(
        request,
        "identities.html",
        {"identities": views, "title": "Identities", "nav": "identities"},
    )


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value not in (None, "") else None
    except ValueError:
        return None


@pages.get("/leads", response_class=HTMLResponse)
def leads_page(
    request: Request,
    session: SessionDep,
    campaign: str | None = None,
    state: str | None = None,
    identity: str | None = None,
    q: str | None = None,
    page: int = 1,
) -> Response:
    """Leads, filtered by campaign, state and identity, and searched."""
    filters = {
        "campaign": campaign or "",
        "state": state or "",
        "identity": identity or "",
        "q": q or "",
    }
    error = None
    try:
        result = svc.list_leads(
            session,
            campaign_id=_int(campaign),
            state=state or None,
            identity_id=_int(identity),
            search=q,
            page=page,
        )
    except LinkseqError as exc:
        error = str(exc)
        result = svc.LeadPage(rows=[], total=0, page=1, per_page=50)
    query = {k: v for k, v in filters.items() if v}
    context = {
        "result": result,
        "filters": filters,
        "error": error,
        "query": urlencode(query),
        "campaigns": _campaign_names(session),
        "identities": _identity_names(session),
        "states": [s.value for s in EnrollmentState],
        "title": "Leads",
        "nav": "leads",
        "upload": None,
    }
    if _partial(request, "lead-table"):
        return _render(request, "_lead_table.html", context)
    return _render(request, "leads.html", context)


def _campaign_names(session: Session) -> list[tuple[int, str]]:
    return [(c.id, c.name) for c in svc.campaign_list(session)]


def _identity_names(session: Session) -> list[tuple[int, str]]:
    return svc.identity_list(session)


@pages.post("/leads/upload", response_class=HTMLResponse)
async def upload_leads(
    request: Request,
    services: ServicesDep,
    file: UploadFile,
    campaign: Annotated[str, Form()] = "",
    dry_run: Annotated[str, Form()] = "",
) -> Response:
    """Import a CSV exactly as `linkseq leads import` does; bad rows come back with their line."""
    data = await file.read(MAX_UPLOAD + 1)
    report: svc.ImportResult | None = None
    error: str | None = None
    if len(data) > MAX_UPLOAD:
        error = "the file is over 50 MB: use `linkseq leads import`"
    else:
        with tempfile.TemporaryDirectory() as tmp:
            # the importer reads a path (encoding sniffing, dialects): give it one
            path = Path(tmp) / Path(file.filename or "upload.csv").name
            path.write_bytes(data)
            try:
                with services.sessions() as session:
                    report = svc.import_leads(
                        session,
                        path=path,
                        now=services.clock.now(),
                        campaign=campaign or None,
                        dry_run=bool(dry_run),
                    )
            except LinkseqError as exc:
                error = str(exc).replace(str(path), path.name)
    context: dict[str, Any] = {"upload": report, "upload_error": error, "filename": file.filename}
    status = 200 if error is None else 400
    if request.headers.get("hx-request"):
        return _render(request, "_upload.html", context, status_code=status)
    with services.sessions() as session:
        result = svc.list_leads(session)
        context |= {
            "result": result,
            "filters": {"campaign": "", "state": "", "identity": "", "q": ""},
            "error": None,
            "query": "",
            "campaigns": _campaign_names(session),
            "identities": _identity_names(session),
            "states": [s.value for s in EnrollmentState],
            "title": "Leads",
            "nav": "leads",
        }
    return _render(request, "leads.html", context, status_code=status)


@pages.get("/leads/{lead_id}", response_class=HTMLResponse)
def lead_page(
    request: Request, lead_id: int, session: SessionDep, services: ServicesDep
) -> Response:
    """One lead: why it waits, what's next, the audit trail."""
    try:
        detail = svc.lead_detail(
            session, lead_id=lead_id, now=services.clock.now(), config=engine_config(services)
        )
    except NotFoundError as exc:
        raise HTTPException(404, str(exc)) from None
    return _render(
        request,
        "lead.html",
        {"lead": detail, "title": detail.name or detail.profile_url, "nav": "leads"},
    )


@pages.get("/inbox", response_class=HTMLResponse)
def inbox_page(
    request: Request,
    session: SessionDep,
    services: ServicesDep,
    identity: str | None = None,
    unread: str | None = None,
    page: int = 1,
    thread: int | None = None,
    note: str | None = None,
) -> Response:
    """The unified inbox: every thread of every identity, newest first."""
    threads = svc.list_threads(
        session, identity_id=_int(identity), unread_only=bool(unread), page=page
    )
    opened = None
    error = None
    if thread is not None:
        try:
            opened = _open(session, services, thread)
        except LinkseqError as exc:
            error = str(exc)
    params = {k: v for k, v in {"identity": identity or "", "unread": unread or ""}.items() if v}
    return _render(
        request,
        "inbox.html",
        {
            "threads": threads,
            "opened": opened,
            "error": error,
            "notice": note,
            "identity": identity or "",
            "unread": bool(unread),
            "identities": _identity_names(session),
            "query": urlencode(params),
            "title": "Inbox",
            "nav": "inbox",
        },
    )


def _open(session: Session, services: Services, thread_id: int) -> svc.ThreadDetail:
    return svc.open_thread(
        session, thread_id=thread_id, client_factory=services.edges, settings=services.settings
    )


@pages.get("/inbox/{thread_id}", response_class=HTMLResponse)
def thread_pane(
    request: Request, thread_id: int, session: SessionDep, services: ServicesDep
) -> Response:
    """One thread's messages (the inbox's right pane; a whole page without htmx)."""
    if not request.headers.get("hx-request"):
        return RedirectResponse(f"/inbox?thread={thread_id}", status_code=303)
    try:
        detail = _open(session, services, thread_id)
    except NotFoundError as exc:
        raise HTTPException(404, str(exc)) from None
    except LinkseqError as exc:
        return _render(request, "_thread.html", {"t": None, "error": str(exc)}, 502)
    return _render(request, "_thread.html", {"t": detail, "error": None})


def _thread_response(
    request: Request,
    session: Session,
    services: Services,
    thread_id: int,
    *,
    notice: str | None = None,
    error: str | None = None,
    draft: str = "",
    status_code: int = 200,
) -> Response:
    if not request.headers.get("hx-request"):
        flag = quote(error or notice or "")
        return RedirectResponse(f"/inbox?thread={thread_id}&note={flag}", status_code=303)
    detail = _open(session, services, thread_id)
    context = {"t": detail, "error": error, "notice": notice, "draft": draft}
    return _render(request, "_thread.html", context, status_code)


@pages.post("/inbox/{thread_id}/reply", response_class=HTMLResponse)
def reply(
    request: Request,
    thread_id: int,
    session: SessionDep,
    services: ServicesDep,
    text: Annotated[str, Form()] = "",
    token: Annotated[str, Form()] = "",
    seen_at: Annotated[str, Form()] = "",
) -> Response:
    """Send a reply from the inbox (sync-before-send; refused if the lead wrote meanwhile)."""
    try:
        seen = datetime.fromisoformat(seen_at) if seen_at else None
        svc.reply(
            session,
            thread_id=thread_id,
            text=text,
            seen_at=seen,
            token=token,
            client_factory=services.edges,
            settings=services.settings,
            now=services.clock.now,
            config=engine_config(services),
        )
    except NotFoundError as exc:
        raise HTTPException(404, str(exc)) from None
    except (LinkseqError, ValueError) as exc:
        session.rollback()
        code = 409 if isinstance(exc, svc.Conflict) else 400
        if isinstance(exc, ConfigError):
            code = 503
        return _thread_response(
            request, session, services, thread_id, error=str(exc), draft=text, status_code=code
        )
    return _thread_response(request, session, services, thread_id, notice="reply sent")


@pages.post("/inbox/{thread_id}/mark", response_class=HTMLResponse)
def mark(
    request: Request,
    thread_id: int,
    session: SessionDep,
    services: ServicesDep,
    interested: Annotated[str, Form()],
) -> Response:
    """Mark the thread's lead interested / not interested: its automation stops."""
    lead_id = svc.lead_of_thread(session, thread_id=thread_id)
    if lead_id is None:
        return _thread_response(
            request, session, services, thread_id, error="not a lead", status_code=400
        )
    yes = interested == "yes"
    try:
        svc.mark_lead(session, lead_id=lead_id, interested=yes, now=services.clock.now())
    except LinkseqError as exc:
        return _thread_response(
            request, session, services, thread_id, error=str(exc), status_code=400
        )
    label = "interested" if yes else "not interested"
    return _thread_response(
        request, session, services, thread_id, notice=f"marked {label}: automation stopped"
    )


router.include_router(pages)
