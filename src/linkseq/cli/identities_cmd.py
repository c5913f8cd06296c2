"""`linkseq identities`: add an identity on Edges, connect LinkedIn, reconnect, list, me.

Cookies are read from a file or stdin, never from the command line (argv is visible to every
user of the machine and lands in shell history), and never stored or printed.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import sqlalchemy as sa
import typer
from rich.table import Table

from linkseq.cli._common import (
    clock,
    console,
    edges_client,
    find_identity,
    open_session,
    print_json,
)
from linkseq.errors import InputError
from linkseq.identities import (
    ConnectResult,
    LinkedInCookies,
    add_identity,
    check_connection,
    connect_cookies,
    login_link,
    parse_cookies,
    read_profile_id,
)
from linkseq.settings import Settings
from linkseq.store.models import Identity

__all__ = ["register"]

identities_app = typer.Typer(
    help="Identities (LinkedIn accounts on Edges): add, connect, reconnect, list, me.\n\n"
    'Example: linkseq identities add "Alice" --timezone Europe/Paris',
    no_args_is_help=True,
)

CookiesFile = Annotated[
    Path | None,
    typer.Option(
        "--cookies-file",
        help="A file with `li_at=…` (and `li_a=…` for Sales Navigator); `-` reads stdin.",
    ),
]
LoginLinkOpt = Annotated[
    bool, typer.Option("--login-link", help="Print a hosted LinkedIn login link instead.")
]


def _read_cookies(path: Path) -> LinkedInCookies:
    if str(path) == "-":
        return parse_cookies(sys.stdin.read())
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror or exc}") from None
    return parse_cookies(text)


def _say(name: str, result: ConnectResult) -> None:
    if result.ok:
        level = f" ({result.level})" if result.level else ""
        console.print(f"LinkedIn is connected for {name}{level}.")
        if result.resumed:
            console.print(f"{result.resumed} paused leads resumed where they were.")
        return
    if result.checkpoint:
        raise InputError(
            f"LinkedIn asks for a check ({result.checkpoint}) for {name}; "
            "use `--login-link` and complete it in the browser"
        )
    raise InputError(
        f"LinkedIn is not connected for {name} (status {result.status}); "
        "the cookies may be expired: copy fresh ones, or use --login-link"
    )


@identities_app.command("add")
def add_cmd(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="A name for the identity (e.g. the person's).")],
    timezone: Annotated[
        str, typer.Option("--timezone", "-t", help="IANA time zone of the account's owner.")
    ],
    standard: Annotated[
        bool, typer.Option("--standard", help="A standard identity (default: engagement).")
    ] = False,
) -> None:
    """Create an identity on Edges (an engagement identity: credit-free outreach) and store it.

    Example: linkseq identities add "Alice" --timezone Europe/Paris
    """
    settings = Settings()
    with open_session(settings) as session, edges_client(settings, ctx) as client:
        identity = add_identity(
            session,
            client,
            name=name,
            timezone=timezone,
            engagement=not standard,
            now=clock().now(),
        )
        session.commit()
        label = f"{identity.name!r} ({identity.uid}, {identity.timezone})"
    kind = "standard" if standard else "engagement"
    console.print(f"Created {kind} identity {label}.")
    console.print(
        f"Connect LinkedIn: `linkseq identities connect {name!r} --cookies-file cookies.txt` "
        f"or `linkseq identities connect {name!r} --login-link`."
    )


def _connect(
    ctx: typer.Context,
    identity_ref: str,
    cookies_file: Path | None,
    link: bool,
    *,
    reconnect: bool,
) -> None:
    if cookies_file is not None and link:
        raise InputError("give either --cookies-file or --login-link, not both")
    if cookies_file is None and not link:
        raise InputError("give --cookies-file FILE (or `-` for stdin) or --login-link")
    cookies = _read_cookies(cookies_file) if cookies_file is not None else None
    settings = Settings()
    with open_session(settings) as session, edges_client(settings, ctx) as client:
        identity = find_identity(session, identity_ref)
        name = identity.name
        if cookies is None:
            url = login_link(client, identity)
            console.print(f"Open this link to log {name} in to LinkedIn (valid 48 h):")
            console.print(url, markup=False)
            then = "reconnect" if reconnect else "connect"
            console.print(
                f"Then run `linkseq identities {then} {name!r} --check` "
                "(or let the Edges webhook tell `linkseq serve`)."
            )
            return
        result = connect_cookies(
            session, client, identity, cookies, now=clock().now(), resume=reconnect
        )
        session.commit()
    _say(name, result)


def _check(ctx: typer.Context, identity_ref: str) -> None:
    settings = Settings()
    with open_session(settings) as session, edges_client(settings, ctx) as client:
        identity = find_identity(session, identity_ref)
        result = check_connection(session, client, identity, now=clock().now())
        session.commit()
        name = identity.name
    _say(name, result)


@identities_app.command("connect")
def connect_cmd(
    ctx: typer.Context,
    identity: Annotated[str, typer.Argument(help="The identity's name or uid.")],
    cookies_file: CookiesFile = None,
    login: LoginLinkOpt = False,
    check: Annotated[
        bool, typer.Option("--check", help="Check the connection (after a login link).")
    ] = False,
) -> None:
    """Connect LinkedIn to an identity, with its cookies (from a file or stdin) or a login link.

    Example: linkseq identities connect Alice --cookies-file cookies.txt
    """
    if check:
        _check(ctx, identity)
        return
    _connect(ctx, identity, cookies_file, login, reconnect=False)


@identities_app.command("reconnect")
def reconnect_cmd(
    ctx: typer.Context,
    identity: Annotated[str, typer.Argument(help="The identity's name or uid.")],
    cookies_file: CookiesFile = None,
    login: LoginLinkOpt = False,
    check: Annotated[
        bool, typer.Option("--check", help="Check the connection (after a login link).")
    ] = False,
) -> None:
    """Reconnect an identity whose LinkedIn session expired; its paused leads resume where
    they were.

    Example: cat cookies.txt | linkseq identities reconnect Alice --cookies-file -
    """
    if check:
        _check(ctx, identity)
        return
    _connect(ctx, identity, cookies_file, login, reconnect=True)


@identities_app.command("list")
def list_cmd(as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False) -> None:
    """List identities with their status, level and LinkedIn profile id.

    Example: linkseq identities list --json
    """
    with open_session(readonly=True) as session:
        items: list[dict[str, Any]] = [
            {
                "name": i.name,
                "uid": i.uid,
                "timezone": i.timezone,
                "engagement": i.is_engagement,
                "level": i.level.value,
                "status": i.status.value,
                "status_reason": i.status_reason,
                "linkedin_profile_id": i.linkedin_profile_id,
                "first_sync_at": i.first_sync_at,
            }
            for i in session.scalars(sa.select(Identity).order_by(Identity.id))
        ]
    if as_json:
        print_json(items)
        return
    if not items:
        console.print(
            'No identities yet: `linkseq identities add "Alice" --timezone Europe/Paris`.'
        )
        return
    table = Table("name", "uid", "time zone", "type", "level", "status", "profile id")
    for item in items:
        status = item["status"]
        if item["status_reason"]:
            status += f" ({item['status_reason']})"
        table.add_row(
            item["name"],
            item["uid"],
            item["timezone"],
            "engagement" if item["engagement"] else "standard",
            item["level"],
            status,
            item["linkedin_profile_id"] or "-",
        )
    console.print(table)


@identities_app.command("me")
def me_cmd(
    ctx: typer.Context,
    identity: Annotated[str, typer.Argument(help="The identity's name or uid.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Read the identity's own LinkedIn profile (linkedin-me) and store its profile id, which
    tells the lead's replies from the identity's own messages.

    Example: linkseq identities me Alice
    """
    settings = Settings()
    with open_session(settings) as session, edges_client(settings, ctx) as client:
        found = find_identity(session, identity)
        profile_id = read_profile_id(session, client, found, now=clock().now())
        session.commit()
        name = found.name
    if as_json:
        print_json({"name": name, "linkedin_profile_id": profile_id})
        return
    console.print(f"{name}: LinkedIn profile id {profile_id} (stored)")


def register(app: typer.Typer) -> None:
    """Add `linkseq identities`."""
    app.add_typer(identities_app, name="identities")
