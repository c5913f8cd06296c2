"""Previewing a campaign's texts for real leads: what each would read, and who would be held."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from linkseq.campaigns.spec import (
    INMAIL_SUBJECT_MAX,
    MESSAGE_MAX,
    NOTE_MAX,
    CampaignSpec,
    ConnectStep,
    InmailStep,
    MessageStep,
)
from linkseq.campaigns.templates import lead_context, render
from linkseq.store.models import Lead

__all__ = ["LeadPreview", "RenderedText", "preview_lead", "render_seed", "step_texts"]


def render_seed(lead_id: int, step_id: str) -> str:
    """The spintax seed of one lead at one step: the same words every time it is rendered."""
    return f"{lead_id}:{step_id}"


def step_texts(spec: CampaignSpec) -> Iterator[tuple[str, str, str, int]]:
    """(step id, field, template, max length) of every text the campaign sends."""
    for step in spec.steps:
        if isinstance(step, ConnectStep) and step.note is not None:
            yield step.id, "note", step.note, NOTE_MAX
        elif isinstance(step, MessageStep):
            yield step.id, "text", step.text, MESSAGE_MAX
        elif isinstance(step, InmailStep):
            yield step.id, "subject", step.subject, INMAIL_SUBJECT_MAX
            yield step.id, "text", step.text, MESSAGE_MAX


@dataclass(frozen=True, slots=True)
class RenderedText:
    """One text of one step for one lead: the text, or why the lead is held."""

    step_id: str
    field: str
    text: str | None
    held: str | None
    fallback: str | None = None  # what happens instead (a connect without its note)


@dataclass(slots=True)
class LeadPreview:
    """Every text of a campaign rendered for one lead."""

    lead_id: int
    name: str | None
    profile_url: str
    texts: list[RenderedText] = field(default_factory=list)

    @property
    def problems(self) -> list[RenderedText]:
        """The texts that cannot be sent as written."""
        return [t for t in self.texts if t.held is not None]


def preview_lead(
    spec: CampaignSpec, lead: Lead, texts: Iterable[tuple[str, str, str, int]] | None = None
) -> LeadPreview:
    """Render every text of `spec` for `lead`, exactly as the engine will."""
    context = lead_context(lead)
    result = LeadPreview(lead_id=lead.id, name=lead.full_name, profile_url=lead.profile_url)
    fallback_steps = {
        s.id for s in spec.steps if isinstance(s, ConnectStep) and s.fallback_without_note
    }
    for step_id, name, template, limit in texts if texts is not None else step_texts(spec):
        out = render(template, context, seed=render_seed(lead.id, step_id), max_length=limit)
        fallback = None
        if out.held is not None and name == "note" and step_id in fallback_steps:
            fallback = "the invitation goes without a note"
        result.texts.append(RenderedText(step_id, name, out.text, out.held, fallback))
    return result
