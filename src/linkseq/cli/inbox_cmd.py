"""`linkseq inbox`: every identity's LinkedIn threads, newest first, leads who replied flagged.

Read from the conversations cache the engine keeps (synced every few hours and before each
batch of messages): no Edges call, so it is instant and costs nothing.
"""

from __future__ import annotations

from typing import Annotated, Any

import sqlalchemy as sa
import typer
from rich.table import Table

from linkseq.cli._common import console, find_identity, open_session, print_json
from linkseq.errors import InputError
from linkseq.store.enums import EnrollmentState
from linkseq.store.models import Conversation, Enrollment, Identity, Lead

__all__ = ["register"]


def inbox(
    identity: Annotated[
        str | None, typer.Option("--identity", "-i", help="Only this identity's threads.")
    ] = None,
    unread: Annotated[bool, typer.Option("--unread", help="Only unread threads.")] = False,
    limit: Annotated[int, typer.Option("--limit", help="At most this many threads.")] = 50,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Show LinkedIn threads of every identity, newest first; leads who replied are flagged
    (automation has stopped for them: a human takes over).

    Example: linkseq inbox --identity Alice --unread
    """
    if limit < 1:
        raise InputError("--limit must be at least 1")
    with open_session(readonly=True) as session:
        query = (
            sa.select(Conversation, Identity)
            .join(Identity, Identity.id == Conversation.identity_id)
            .order_by(Conversation.last_message_at.desc().nulls_last(), Conversation.id.desc())
            .limit(limit)
        )
        if identity is not None:
            query = query.where(Conversation.identity_id == find_identity(session, identity).id)
        if unread:
            query = query.where(Conversation.unread.is_(True))
        rows = session.execute(query).all()
        ids = {c.participant_profile_id for c, _ in rows if c.participant_profile_id}
        urls = {c.participant_profile_url for c, _ in rows if c.participant_profile_url}
        leads = list(
            session.scalars(
                sa.select(Lead).where(
                    Lead.forgotten_hash.is_(None),
                    sa.or_(Lead.linkedin_profile_id.in_(ids), Lead.profile_url.in_(urls)),
                )
            )
        )
        by_key: dict[str, Lead] = {}
        for lead in leads:
            by_key[lead.profile_url] = lead
            if lead.linkedin_profile_id:
                by_key[lead.linkedin_profile_id] = lead
        replied = set(
            session.execute(
                sa.select(Enrollment.lead_id, Enrollment.identity_id).where(
                    Enrollment.state == EnrollmentState.REPLIED,
                    Enrollment.lead_id.in_([lead.id for lead in leads]),
                )
            ).all()
        )
        items: list[dict[str, Any]] = []
        for conversation, owner in rows:
            match = by_key.get(conversation.participant_profile_id or "") or by_key.get(
                conversation.participant_profile_url or ""
            )
            from_them = (
                conversation.last_message_sender_id is not None
                and conversation.last_message_sender_id != owner.linkedin_profile_id
            )
            items.append(
                {
                    "identity": owner.name,
                    "thread_url": conversation.thread_url,
                    "lead_id": match.id if match else None,
                    "name": match.full_name if match else None,
                    "profile_url": conversation.participant_profile_url
                    or (match.profile_url if match else None),
                    "last_message_at": conversation.last_message_at,
                    "last_message": conversation.last_message_text,
                    "last_from_them": from_them,
                    "unread": conversation.unread,
                    "replied": match is not None and (match.id, owner.id) in replied,
                }
            )
    if as_json:
        print_json(items)
        return
    if not items:
        console.print("No threads (they appear after the worker's first conversations sync).")
        return
    table = Table("", "when", "identity", "with", "last message")
    for item in items:
        flag = "[bold green]replied[/bold green]" if item["replied"] else ""
        if item["unread"]:
            flag = (flag + " unread").strip()
        when = item["last_message_at"]
        text = (item["last_message"] or "").replace("\n", " ")
        arrow = "← " if item["last_from_them"] else "→ "
        table.add_row(
            flag,
            f"{when:%Y-%m-%d %H:%M}" if when else "",
            item["identity"],
            item["name"] or item["profile_url"] or "",
            arrow + (text[:80] + "…" if len(text) > 80 else text),
        )
    console.print(table)


def register(app: typer.Typer) -> None:
    """Add `linkseq inbox`."""
    app.command("inbox")(inbox)
