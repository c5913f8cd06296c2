"""A campaign's `pacing.order`: the order in which its kinds of step go when several are due."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from linkseq.campaigns import parse_campaign
from linkseq.demo.simulation import DEFAULT_CAMPAIGN
from linkseq.errors import InputError
from linkseq.planning.pacing import DEFAULT_PRIORITY, StepKind


def _spec(order: Any) -> dict[str, Any]:
    spec: dict[str, Any] = yaml.safe_load(DEFAULT_CAMPAIGN.read_text(encoding="utf-8"))
    if order is not None:
        spec["pacing"]["order"] = order
    return spec


def test_the_default_order_and_a_partial_one() -> None:
    assert parse_campaign(_spec(None)).pacing.priority() == DEFAULT_PRIORITY
    spec = parse_campaign(_spec(["visit", "invitation"]))
    assert spec.pacing.priority() == (
        StepKind.visit,
        StepKind.invitation,
        StepKind.follow_up,
        StepKind.first_message,
        StepKind.inmail,
    )
    assert parse_campaign(spec.to_json()).pacing.priority() == spec.pacing.priority()


@pytest.mark.parametrize(
    ("order", "message"),
    [
        (["visit", "visit"], "pacing.order: a kind of step appears twice"),
        (["walk"], "pacing.order[0]: Input should be"),
        ("visit", "pacing.order"),
    ],
)
def test_a_bad_order_names_its_field(order: Any, message: str) -> None:
    with pytest.raises(InputError) as caught:
        parse_campaign(_spec(order))
    assert message in str(caught.value)
