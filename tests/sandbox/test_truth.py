"""Limits arithmetic, each breach provoked on purpose, runs and callbacks, faults, determinism."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from linkseq.sandbox import AnswerLost, FaultConfig, Sandbox
from linkseq.sandbox._limits import effective_limit, ramp_day

from .conftest import MONDAY_10_PARIS, live, make, stranger

GAP = timedelta(seconds=45)


def test_ramp_up_arithmetic() -> None:
    assert [effective_limit(25, d) for d in range(1, 7)] == [5, 10, 15, 20, 25, 25]
    assert effective_limit(3, 1) == 1
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    assert ramp_day(t0, t0) == 1
    assert ramp_day(t0, t0 + timedelta(hours=24)) == 2


def test_connect_limit_ramp_day_1_then_limit_reached_with_postponed_until() -> None:
    sb, _ = make()
    sb.advance(to=MONDAY_10_PARIS)
    uid = sb.add_identity()  # first sync now: day 1 → 5 invitations
    index = 0
    for _ in range(5):
        index = stranger(sb, uid, index + 1)
        assert (
            live(
                sb,
                "linkedin-connect-profile",
                uid,
                {"linkedin_profile_url": sb.world.people[index].profile_url},
            )[0]
            == 200
        )
        sb.advance(by=GAP)
    index = stranger(sb, uid, index + 1)
    status, _, err = live(
        sb,
        "linkedin-connect-profile",
        uid,
        {"linkedin_profile_url": sb.world.people[index].profile_url},
    )
    assert (status, err["error_label"]) == (429, "LIMIT_REACHED")
    assert err["params"]["appendix"] == "24h"
    assert err["params"]["postponed_until"] == "2026-01-06T09:00:00Z"  # day 2 starts
    assert sb.report()["breaches"]["over_limit_attempt"] == 1


def test_weekly_invitation_cap() -> None:
    sb, _ = make(people=2000)
    sb.advance(to=MONDAY_10_PARIS)
    uid = sb.add_identity(first_sync_at=MONDAY_10_PARIS - timedelta(days=30))
    index, sent, last = 0, 0, None
    for _day in range(5):
        for _ in range(25):
            index = stranger(sb, uid, index + 1)
            last = live(
                sb,
                "linkedin-connect-profile",
                uid,
                {"linkedin_profile_url": sb.world.people[index].profile_url},
            )
            if last[0] == 200:
                sent += 1
            sb.advance(by=GAP)
        sb.advance(by=timedelta(hours=24) - 25 * GAP)
    assert sent == 100
    assert last is not None
    assert last[2]["params"]["appendix"] == "7d"


def _friend(sb: Sandbox, uid: str, nth: int = 0) -> str:
    ident = sb.identity(uid)
    free = [
        i
        for i in ident.connections
        if i not in ident.threads
        and not sb.world.people[i].out_of_office
        and sb.world.people[i].timezone.startswith("Europe/")
    ]
    return sb.world.people[free[nth]].profile_url


def test_each_breach_when_provoked(sandbox) -> None:  # type: ignore[no-untyped-def]
    sb, _, uid = sandbox
    p = sb.world.people[stranger(sb, uid)].profile_url
    live(sb, "linkedin-connect-profile", uid, {"linkedin_profile_url": p})
    sb.advance(by=GAP)
    live(sb, "linkedin-connect-profile", uid, {"linkedin_profile_url": p})  # duplicate (pending)
    sb.advance(by=GAP)
    friend = _friend(sb, uid)
    live(sb, "linkedin-message-profile", uid, {"linkedin_profile_url": friend}, {"message": "A"})
    sb.advance(by=GAP)
    live(sb, "linkedin-message-profile", uid, {"linkedin_profile_url": friend}, {"message": "A"})
    sb.advance(by=GAP)
    sb.inject_reply(uid, friend, "stop please")
    live(sb, "linkedin-message-profile", uid, {"linkedin_profile_url": friend}, {"message": "B"})
    live(sb, "linkedin-visit-profile", uid, {"linkedin_profile_url": p})  # 0 s gap
    sb.advance(to=datetime(2026, 1, 10, 12, tzinfo=UTC))  # a Saturday
    live(sb, "linkedin-visit-profile", uid, {"linkedin_profile_url": p})
    breaches = sb.report()["breaches"]
    assert breaches["duplicate_invitation"] == 1
    assert breaches["duplicate_message"] == 1
    assert breaches["message_after_reply"] == 1
    assert breaches["pacing_gap"] == 1
    assert breaches["outside_hours"] == 1
    assert breaches["over_limit_attempt"] == 0
    assert breaches["parallel_live_calls"] == 0
    assert sb.call("GET", "/_sandbox/report")[2]["breaches"] == breaches


def test_parallel_live_calls_are_counted(sandbox) -> None:  # type: ignore[no-untyped-def]
    sb, _, uid = sandbox
    import threading

    core = sb._core
    inside = threading.Event()
    release = threading.Event()
    original = core.handlers  # unused; we hold the lock to overlap two calls
    assert original
    results: list[int] = []

    def call() -> None:
        inside.set()
        results.append(live(sb, "linkedin-me", uid)[0])

    with core.lock:
        t1 = threading.Thread(target=call)
        t2 = threading.Thread(target=call)
        t1.start()
        t2.start()
        inside.wait(5)
        for _ in range(1000):  # both threads registered in flight before the lock frees
            with core.flight_lock:
                if core.in_flight.get(uid, 0) == 2:
                    break
            release.wait(0.001)
    t1.join(5)
    t2.join(5)
    assert results == [200, 200]
    assert sb.report()["breaches"]["parallel_live_calls"] == 1


def test_acceptance_and_replies_happen_as_time_passes() -> None:
    sb, _rec = make(people=500)
    sb.advance(to=MONDAY_10_PARIS)
    uid = sb.add_identity(first_sync_at=MONDAY_10_PARIS - timedelta(days=30))
    index = 0
    for _ in range(20):
        index = stranger(sb, uid, index + 1)
        live(
            sb,
            "linkedin-connect-profile",
            uid,
            {"linkedin_profile_url": sb.world.people[index].profile_url},
            {"message": "Hi"},
        )
        sb.advance(by=GAP)
    sb.advance(by=timedelta(days=6))
    totals = sb.report()["totals"]
    assert 0 < totals["invitations_accepted"] <= 20
    accepted = [e for e in sb.log if e.get("event") == "accepted"]
    assert len(accepted) == totals["invitations_accepted"]


def test_determinism_same_seed_same_calls_same_log() -> None:
    def run(seed: int) -> list[object]:
        sb, _ = make(seed=seed, faults=FaultConfig(status_429=0.1, reply_race=0.5))
        sb.advance(to=MONDAY_10_PARIS)
        uid = sb.add_identity(first_sync_at=MONDAY_10_PARIS - timedelta(days=30))
        index = 0
        for _ in range(15):
            index = stranger(sb, uid, index + 1)
            live(
                sb,
                "linkedin-connect-profile",
                uid,
                {"linkedin_profile_url": sb.world.people[index].profile_url},
                {"message": "x"},
            )
            live(sb, "linkedin-extract-conversations", uid)
            sb.advance(by=timedelta(hours=3))
        sb.advance(by=timedelta(days=5))
        return [(e["kind"], e["at"], e.get("event"), e.get("person")) for e in sb.log]

    assert run(7) == run(7)
    assert run(7) != run(8)


def test_async_run_callbacks_on_all_and_outputs(sandbox) -> None:  # type: ignore[no-untyped-def]
    sb, rec, uid = sandbox
    urls = [sb.world.people[stranger(sb, uid, i * 3)].profile_url for i in range(3)]
    status, _, run = sb.call(
        "POST",
        "/v1/actions/linkedin-visit-profile/run/async",
        {
            "inputs": [
                {"linkedin_profile_url": u, "custom_data": {"lead": i}} for i, u in enumerate(urls)
            ],
            "identity_ids": [uid],
            "callback": {"url": "https://app.example/cb", "headers": {"X-Linkseq-Token": "s"}},
        },
    )
    assert status == 201
    assert run["status"] == "QUEUED"
    assert run["uid"] == run["run_uid"]
    sb.advance(by=timedelta(minutes=10))
    cbs = [(h, b) for u, h, b in rec.posts if u == "https://app.example/cb"]
    assert len(cbs) == 3
    assert cbs[0][0]["X-Linkseq-Token"] == "s"
    assert [b["run"]["status"] for _, b in cbs] == ["RUNNING", "RUNNING", "SUCCEEDED"]
    assert [b["custom_data"] for _, b in cbs] == [{"lead": 0}, {"lead": 1}, {"lead": 2}]
    assert cbs[0][1]["results"][0]["linkedin_profile_url"]
    assert cbs[0][1]["input"] == {"linkedin_profile_url": urls[0]}
    status, _, outs = sb.call("GET", f"/v1/runs/{run['uid']}/outputs")
    assert len(outs) == 3
    assert outs[1]["custom_data"] == {"lead": 1}
    assert sb.call("GET", f"/v1/runs/{run['uid']}")[2]["status"] == "SUCCEEDED"
    assert sb.report()["breaches"]["pacing_gap"] == 0  # Edges paces async itself


def test_callback_on_final_and_retries(sandbox) -> None:  # type: ignore[no-untyped-def]
    sb, rec, uid = sandbox
    rec.status = lambda n: 500 if len(rec.bodies("/cb")) <= 2 else 200
    url = sb.world.people[stranger(sb, uid)].profile_url
    sb.call(
        "POST",
        "/v1/actions/linkedin-visit-profile/run/async",
        {
            "inputs": [
                {"linkedin_profile_url": url},
                {"linkedin_profile_url": "https://www.linkedin.com/in/gone-ffffffff"},
            ],
            "identity_ids": [uid],
            "callback": {"url": "https://app.example/cb", "on": "final"},
        },
    )
    sb.advance(by=timedelta(hours=1))
    cbs = rec.bodies("/cb")
    assert len(cbs) == 3  # two failures, then success, same ref
    assert len({b["callback_ref_uid"] for b in cbs}) == 1
    assert cbs[-1]["run"]["status"] == "PARTIAL_SUCCEEDED"
    assert "custom_data" not in cbs[-1]


def test_async_limit_postpones_and_auth_expiry_blocks_then_resume() -> None:
    sb, _rec = make(people=500)
    sb.advance(to=MONDAY_10_PARIS)
    uid = sb.add_identity()  # day 1: 5 invitations
    urls = []
    index = 0
    for _ in range(7):
        index = stranger(sb, uid, index + 1)
        urls.append(sb.world.people[index].profile_url)
    _, _, run = sb.call(
        "POST",
        "/v1/actions/linkedin-connect-profile/run/async",
        {
            "inputs": [{"linkedin_profile_url": u} for u in urls],
            "identity_ids": [uid],
            "callback": {"url": "https://app.example/cb"},
        },
    )
    sb.advance(by=timedelta(hours=1))
    state = sb.call("GET", f"/v1/runs/{run['uid']}")[2]
    assert state["status"] == "RUNNING"
    assert state["postponed_until"] == "2026-01-06T09:00:00Z"
    sb.expire_session(uid)
    sb.advance(by=timedelta(days=1))
    state = sb.call("GET", f"/v1/runs/{run['uid']}")[2]
    assert state["status"] == "BLOCKED"
    assert state["last_error"]["error_label"] == "AUTH_EXPIRED"
    sb.connect(uid)
    assert sb.call("POST", f"/v1/runs/{run['uid']}/resume")[2]["status"] == "SCHEDULED"
    sb.advance(by=timedelta(hours=1))
    assert sb.call("GET", f"/v1/runs/{run['uid']}")[2]["status"] == "SUCCEEDED"
    assert sb.report()["totals"]["invitations_sent"] == 7


def test_callback_faults_duplicate_and_out_of_order(sandbox) -> None:  # type: ignore[no-untyped-def]
    _sb, _rec, _uid = sandbox
    sb2, rec2 = make(FaultConfig(duplicate_callback=1.0, out_of_order_callback=0.5))
    sb2.advance(to=MONDAY_10_PARIS)
    uid2 = sb2.add_identity()
    urls = [sb2.world.people[stranger(sb2, uid2, i * 3)].profile_url for i in range(4)]
    sb2.call(
        "POST",
        "/v1/actions/linkedin-get-thread-url/run/async",
        {
            "inputs": [
                {"linkedin_profile_url": u, "custom_data": {"i": i}} for i, u in enumerate(urls)
            ],
            "identity_ids": [uid2],
            "callback": {"url": "https://app.example/cb"},
        },
    )
    sb2.advance(by=timedelta(hours=1))
    cbs = rec2.bodies("/cb")
    refs = [b["callback_ref_uid"] for b in cbs]
    assert len(cbs) == 8
    assert len(set(refs)) == 4
    order = [b["custom_data"]["i"] for b in cbs]
    assert order != sorted(order)


def test_answer_lost_after_the_action_took_effect(sandbox) -> None:  # type: ignore[no-untyped-def]
    _sb, _, _uid = sandbox
    sb2, _ = make(FaultConfig(answer_lost=1.0))
    sb2.advance(to=MONDAY_10_PARIS)
    uid2 = sb2.add_identity()
    p = sb2.world.people[stranger(sb2, uid2)]
    with pytest.raises(AnswerLost):
        live(sb2, "linkedin-connect-profile", uid2, {"linkedin_profile_url": p.profile_url})
    assert p.index in sb2.identity(uid2).invitations  # LinkedIn acted
    assert isinstance(AnswerLost("x"), TimeoutError)


def test_reply_race_lands_before_the_next_message(sandbox) -> None:  # type: ignore[no-untyped-def]
    _sb, _, _uid = sandbox
    sb2, _ = make(FaultConfig(reply_race=1.0), people=300)
    sb2.advance(to=MONDAY_10_PARIS)
    uid2 = sb2.add_identity(first_sync_at=MONDAY_10_PARIS - timedelta(days=30))
    ident = sb2.identity(uid2)
    friend_i = next(
        i
        for i in ident.connections
        if i not in ident.threads and not sb2.world.people[i].never_answers
    )
    url = sb2.world.people[friend_i].profile_url
    live(sb2, "linkedin-message-profile", uid2, {"linkedin_profile_url": url}, {"message": "1"})
    sb2.advance(by=GAP)
    live(sb2, "linkedin-get-thread-url", uid2, {"linkedin_profile_url": url})
    live(sb2, "linkedin-message-profile", uid2, {"linkedin_profile_url": url}, {"message": "2"})
    thread = ident.threads[friend_i]
    assert [m.from_identity for m in thread.messages][-3:] == [True, False, True]
    assert sb2.report()["totals"]["race_replies"] == 1


def test_slow_answers_take_virtual_time(sandbox) -> None:  # type: ignore[no-untyped-def]
    _sb, _, _uid = sandbox
    sb2, _ = make(FaultConfig(slow=1.0, slow_seconds=12))
    uid2 = sb2.add_identity()
    before = sb2.clock.now()
    status, headers, _ = live(sb2, "linkedin-me", uid2)
    assert status == 200
    assert headers["X-Sandbox-Latency"] == "12"
    assert (sb2.clock.now() - before).total_seconds() == 12


def test_auth_expired_mid_batch(sandbox) -> None:  # type: ignore[no-untyped-def]
    sb2, rec2 = make(FaultConfig(auth_expired_mid_batch=1.0))
    sb2.advance(to=MONDAY_10_PARIS)
    uid2 = sb2.add_identity()
    urls = [sb2.world.people[stranger(sb2, uid2, i * 3)].profile_url for i in range(4)]
    _, _, run = sb2.call(
        "POST",
        "/v1/actions/linkedin-visit-profile/run/async",
        {"inputs": [{"linkedin_profile_url": u} for u in urls], "identity_ids": [uid2]},
    )
    sb2.advance(by=timedelta(hours=1))
    assert sb2.call("GET", f"/v1/runs/{run['uid']}")[2]["status"] == "BLOCKED"
    assert rec2.bodies("hooks")[-1]["event"] == "AUTH_EXPIRED"


def test_schedule_fires_on_cron(sandbox) -> None:  # type: ignore[no-untyped-def]
    sb, rec, uid = sandbox
    status, _, sched = sb.call(
        "POST",
        "/v1/actions/linkedin-extract-connections/run/schedule",
        {
            "inputs": [{}],
            "identity_ids": [uid],
            "cron": "0 9 * * *",
            "timezone": "Europe/Paris",
            "callback": {"url": "https://app.example/cb"},
        },
    )
    assert status == 201
    assert sched["status"] == "SCHEDULED"
    assert sched["next_run_at"] == "2026-01-06T08:00:00Z"
    sb.advance(by=timedelta(days=2, hours=1))
    assert len(rec.bodies("/cb")) == 2
    assert sb.call("GET", "/v1/schedules")[2][0]["uid"] == sched["uid"]
    assert sb.call("DELETE", f"/v1/schedules/{sched['uid']}")[0] == 200
