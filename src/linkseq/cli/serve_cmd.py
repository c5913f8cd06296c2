"""`linkseq serve`: the web app (Edges webhooks, API, dashboard) on uvicorn.

With `LINKSEQ_EVENTS_URL` and `LINKSEQ_EVENTS_SECRET` set, a background thread also delivers
the signed outgoing events to that URL and applies stored webhooks not applied yet.
"""

from __future__ import annotations

import threading
from typing import Annotated

import typer

__all__ = ["register", "serve"]


def _pump(stop: threading.Event, every: float) -> None:
    """Deliver outgoing events and drain the webhook inbox until `stop` is set."""
    from linkseq.cli._common import clock
    from linkseq.engine.events_out import EventDispatcher
    from linkseq.settings import Settings
    from linkseq.store import build_engine, session_factory
    from linkseq.web.webhooks import drain_inbox

    settings = Settings()
    sessions = session_factory(build_engine(settings.database_url))
    dispatcher = None
    if settings.events_url and settings.events_secret is not None:
        dispatcher = EventDispatcher(
            sessions=sessions, clock=clock(), url=settings.events_url, secret=settings.events_secret
        )
    while not stop.wait(every):
        drain_inbox(sessions=sessions, clock=clock())
        if dispatcher is not None:
            dispatcher.deliver_due()


def serve(
    host: Annotated[str, typer.Option(help="Address to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port to listen on.")] = 8000,
    deliver_every: Annotated[
        float, typer.Option(help="Seconds between outgoing-event deliveries (0: off).")
    ] = 5.0,
) -> None:
    """Serve the webhooks receiver, the JSON API and the dashboard.

    Example: linkseq serve --host 127.0.0.1 --port 8000
    """
    import uvicorn

    from linkseq.logging import configure_logging
    from linkseq.settings import Settings
    from linkseq.web.app import create_app
    from linkseq.web.serving import uvicorn_options

    settings = Settings()
    configure_logging(settings.log_level)
    if settings.webhook_secret is None:
        typer.echo("warning: LINKSEQ_WEBHOOK_SECRET is not set; every webhook will get a 401")
    app = create_app(settings)
    # the dashboard asks for the login token whenever it listens beyond loopback
    app.state.services.extra["bind_host"] = host
    stop = threading.Event()
    pump = None
    if deliver_every > 0:
        pump = threading.Thread(target=_pump, args=(stop, deliver_every), daemon=True)
        pump.start()
    try:
        uvicorn.run(app, host=host, port=port, log_level="warning", **uvicorn_options())
    finally:
        stop.set()
        if pump is not None:
            pump.join(timeout=10)


def register(app: typer.Typer) -> None:
    """Add `linkseq serve` to the root app."""
    app.command("serve")(serve)
