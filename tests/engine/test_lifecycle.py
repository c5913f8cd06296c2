"""The lead lifecycle table, tested exhaustively: every (state, event) pair maps or raises."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from linkseq.engine.lifecycle import (
    ACTIVE,
    TERMINAL,
    TRANSITIONS,
    Event,
    IllegalTransition,
    Position,
    State,
    UnknownErrorLabel,
    advance,
    outcome_for_error_label,
    resume,
    transition,
)

S, E = State, Event

# The expected table, written out independently of the module's rows.
EXPECTED: dict[tuple[State, Event], State] = {
    (S.new, E.checked_ok): S.ready,
    (S.new, E.dnc): S.skipped,
    (S.new, E.duplicate): S.skipped,
    (S.new, E.lead_wrote_first): S.replied,
    (S.new, E.replied): S.replied,
    (S.new, E.recent_conversation): S.new,
    (S.new, E.already_connected): S.connected,
    (S.new, E.invitation_pending): S.invited,
    (S.new, E.profile_not_accessible): S.failed,
    (S.new, E.invalid_input): S.failed,
    (S.new, E.limit_reached): S.new,
    (S.new, E.rate_limited): S.new,
    (S.new, E.auth_expired): S.paused,
    (S.ready, E.visited): S.ready,
    (S.ready, E.invited): S.invited,
    (S.ready, E.messaged): S.messaged,
    (S.ready, E.last_message_sent): S.completed,
    (S.ready, E.last_step_done): S.completed,
    (S.ready, E.already_connected): S.connected,
    (S.ready, E.invitation_pending): S.invited,
    (S.ready, E.not_connected): S.ready,
    (S.ready, E.dnc): S.skipped,
    (S.ready, E.duplicate): S.skipped,
    (S.ready, E.replied): S.replied,
    (S.ready, E.profile_not_accessible): S.failed,
    (S.ready, E.invalid_input): S.failed,
    (S.ready, E.limit_reached): S.ready,
    (S.ready, E.rate_limited): S.ready,
    (S.ready, E.auth_expired): S.paused,
    (S.invited, E.accepted): S.connected,
    (S.invited, E.already_connected): S.connected,
    (S.invited, E.invitation_pending): S.invited,
    (S.invited, E.invite_timeout_withdraw): S.withdrawn,
    (S.invited, E.invite_timeout_skip): S.ready,
    (S.invited, E.replied): S.replied,
    (S.invited, E.dnc): S.skipped,
    (S.invited, E.profile_not_accessible): S.failed,
    (S.invited, E.invalid_input): S.failed,
    (S.invited, E.limit_reached): S.invited,
    (S.invited, E.rate_limited): S.invited,
    (S.invited, E.auth_expired): S.paused,
    (S.connected, E.messaged): S.messaged,
    (S.connected, E.last_message_sent): S.completed,
    (S.connected, E.last_step_done): S.completed,
    (S.connected, E.not_connected): S.ready,
    (S.connected, E.replied): S.replied,
    (S.connected, E.dnc): S.skipped,
    (S.connected, E.profile_not_accessible): S.failed,
    (S.connected, E.invalid_input): S.failed,
    (S.connected, E.limit_reached): S.connected,
    (S.connected, E.rate_limited): S.connected,
    (S.connected, E.auth_expired): S.paused,
    (S.messaged, E.messaged): S.messaged,
    (S.messaged, E.last_message_sent): S.completed,
    (S.messaged, E.last_step_done): S.completed,
    (S.messaged, E.not_connected): S.ready,
    (S.messaged, E.replied): S.replied,
    (S.messaged, E.dnc): S.skipped,
    (S.messaged, E.profile_not_accessible): S.failed,
    (S.messaged, E.invalid_input): S.failed,
    (S.messaged, E.limit_reached): S.messaged,
    (S.messaged, E.rate_limited): S.messaged,
    (S.messaged, E.auth_expired): S.paused,
    (S.paused, E.auth_expired): S.paused,
    (S.paused, E.replied): S.replied,
    (S.completed, E.replied): S.replied,
    (S.withdrawn, E.replied): S.replied,
}

ALL_PAIRS = list(itertools.product(State, Event))


def test_table_is_exactly_the_expected_one() -> None:
    assert dict(TRANSITIONS) == EXPECTED


@pytest.mark.parametrize(("state", "event"), ALL_PAIRS, ids=[f"{s}-{e}" for s, e in ALL_PAIRS])
def test_every_pair_maps_or_raises(state: State, event: Event) -> None:
    if (state, event) in EXPECTED:
        assert transition(state, event) is EXPECTED[(state, event)]
    else:
        with pytest.raises(IllegalTransition) as info:
            transition(state, event)
        assert info.value.state is state
        assert info.value.event is event
        assert state.value in str(info.value)


def test_replied_is_final_and_terminals_only_record_replies() -> None:
    assert not [e for e in Event if (S.replied, e) in TRANSITIONS]
    for state in TERMINAL:
        for event in Event:
            if (state, event) in TRANSITIONS:
                assert event is E.replied
                assert TRANSITIONS[(state, event)] is S.replied
    assert not [e for e in Event if (S.skipped, e) in TRANSITIONS]
    assert not [e for e in Event if (S.failed, e) in TRANSITIONS]


def test_states_partition() -> None:
    assert TERMINAL.isdisjoint(ACTIVE)
    assert TERMINAL | ACTIVE | {S.paused} == set(State)


def test_every_state_is_reachable_from_new() -> None:
    seen, frontier = {S.new}, [S.new]
    while frontier:
        state = frontier.pop()
        for (src, _), dst in TRANSITIONS.items():
            if src is state and dst not in seen:
                seen.add(dst)
                frontier.append(dst)
    assert seen == set(State)


def test_dnc_and_auth_expired_apply_to_every_active_state() -> None:
    for state in ACTIVE:
        assert transition(state, E.dnc) is S.skipped
        assert transition(state, E.auth_expired) is S.paused
        assert transition(state, E.replied) is S.replied


@pytest.mark.parametrize("state", sorted(ACTIVE))
def test_pause_then_resume_returns_the_same_state(state: State) -> None:
    paused = advance(Position(state), E.auth_expired)
    assert paused == Position(S.paused, state)
    again = advance(paused, E.auth_expired)  # a second webhook changes nothing
    assert again == paused
    assert advance(again, E.resumed) == Position(state)
    assert resume(again) is state


def test_resume_of_a_lead_not_paused_is_illegal() -> None:
    with pytest.raises(IllegalTransition):
        advance(Position(S.ready), E.resumed)
    with pytest.raises(IllegalTransition):
        transition(S.paused, E.resumed)


def test_a_reply_while_paused_ends_the_sequence() -> None:
    assert advance(Position(S.paused, S.messaged), E.replied) == Position(S.replied)


def test_position_validation() -> None:
    with pytest.raises(ValueError):
        Position(S.paused)
    with pytest.raises(ValueError):
        Position(S.ready, S.new)
    with pytest.raises(ValueError):
        Position(S.paused, S.completed)


@given(st.lists(st.sampled_from(list(Event)), max_size=40))
def test_random_event_sequences_keep_a_known_state(events: list[Event]) -> None:
    position = Position(S.new)
    for event in events:
        try:
            position = advance(position, event)
        except IllegalTransition:
            continue
        assert position.state in set(State)
        assert (position.state is S.paused) == (position.resume_to is not None)
    if position.state is S.replied:
        for event in Event:
            with pytest.raises(IllegalTransition):
                advance(position, event)


@pytest.mark.parametrize(
    ("label", "event"),
    [
        ("LIMIT_REACHED", E.limit_reached),
        ("NOT_CONNECTED", E.not_connected),
        ("ALREADY_CONNECTED", E.already_connected),
        ("INVITATION_PENDING", E.invitation_pending),
        ("PROFILE_NOT_ACCESSIBLE", E.profile_not_accessible),
        ("AUTH_EXPIRED", E.auth_expired),
        ("NO_VALID_ACCOUNT_CONFIGURED", E.auth_expired),
        ("INVALID_INPUT", E.invalid_input),
        ("BAD_INPUT", E.invalid_input),
        ("BAD_PARAMETERS", E.invalid_input),
        ("STATUS_429", E.rate_limited),
        (" status_429 ", E.rate_limited),
    ],
)
def test_error_labels(label: str, event: Event) -> None:
    assert outcome_for_error_label(label) is event


def test_unknown_error_label_raises() -> None:
    with pytest.raises(UnknownErrorLabel, match="SOMETHING_ELSE"):
        outcome_for_error_label("SOMETHING_ELSE")
