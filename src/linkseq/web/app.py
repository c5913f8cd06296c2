"""`create_app(settings)`: the one ASGI app `linkseq serve` runs.

Routers live in their own modules and are included here when present: the Edges webhooks
(`linkseq.web.webhooks`), the JSON API (`linkseq.web.api`) and the dashboard pages
(`linkseq.web.ui`). Each exposes `router: fastapi.APIRouter`. Dependencies (database sessions,
the clock, the Edges client) come from `app.state.services`, set here, so tests build an app
on any database and clock.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI
from sqlalchemy.orm import Session, sessionmaker

from linkseq import __version__
from linkseq.clock import Clock, SystemClock
from linkseq.settings import Settings
from linkseq.store import build_engine, session_factory

__all__ = ["ROUTER_MODULES", "Services", "create_app"]

ROUTER_MODULES = ("linkseq.web.webhooks", "linkseq.web.api", "linkseq.web.ui")


@dataclass(slots=True)
class Services:
    """What request handlers need, injected once per app."""

    settings: Settings
    sessions: sessionmaker[Session]
    clock: Clock
    # builds an Edges client when a handler needs one (inbox replies, reconnects); tests inject
    edges: Callable[[], Any] | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def create_app(
    settings: Settings,
    *,
    sessions: sessionmaker[Session] | None = None,
    clock: Clock | None = None,
    edges: Callable[[], Any] | None = None,
) -> FastAPI:
    """The linkseq web app (webhooks, JSON API, dashboard) for these settings."""
    app = FastAPI(title="linkseq", version=__version__)
    app.state.services = Services(
        settings=settings,
        sessions=sessions or session_factory(build_engine(settings.database_url)),
        clock=clock or SystemClock(),
        edges=edges,
    )

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    for module_name in ROUTER_MODULES:
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name == module_name:
                continue
            raise
        app.include_router(module.router)
    return app
