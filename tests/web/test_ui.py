"""The pages, in-process: they render what the services say, and the login token guards them."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from linkseq.demo.simulation import Simulation
from linkseq.web.ui import COOKIE, session_cookie_value
from tests.web.conftest import make_app

PAGES = ("/campaigns", "/identities", "/leads", "/inbox", "/leads/1")


@pytest.mark.parametrize("path", PAGES)
def test_pages_render_on_loopback_without_login(client: TestClient, path: str) -> None:
    page = client.get(path)
    assert page.status_code == 200
    assert '<script src="/static/htmx.min.js"' in page.text
    assert "cdn" not in page.text.lower()
    assert "unpkg" not in page.text.lower()


def test_htmx_is_served_from_the_package(client: TestClient) -> None:
    js = client.get("/static/htmx.min.js")
    assert js.status_code == 200
    assert "htmx" in js.text[:200]
    assert client.get("/static/..%2Fui.py").status_code == 404


def test_campaign_page_shows_the_funnel_counts(client: TestClient, sim: Simulation) -> None:
    text = client.get("/campaigns").text
    for stage, count in sim.funnel().items():
        if ":" in stage:
            continue
        assert re.search(
            rf'data-stage="{stage}"><td>{stage}</td><td class="num" data-count>{count}<', text
        ), stage
    assert "<svg" in text
    assert "Reply rate per message step" in text


def test_leads_partial_for_htmx(client: TestClient) -> None:
    part = client.get(
        "/leads",
        params={"state": "invited"},
        headers={"HX-Request": "true", "HX-Target": "lead-table"},
    )
    assert part.text.lstrip().startswith('<div id="lead-table">')
    assert "<html" not in part.text


def test_upload_lists_bad_rows_with_their_line(client: TestClient) -> None:
    csv = "linkedin_profile_url\nhttps://www.linkedin.com/in/ui-ok\nnope\n"
    page = client.post(
        "/leads/upload",
        files={"file": ("bad.csv", csv, "text/csv")},
        data={"dry_run": "1"},
        headers={"HX-Request": "true"},
    )
    assert page.status_code == 200
    assert 'data-line="3"' in page.text
    assert "1 bad" in page.text


def test_a_token_is_required_beyond_loopback(sim: Simulation) -> None:
    app = make_app(sim, ui_token="s3cret-token")
    app.state.services.extra["bind_host"] = "0.0.0.0"
    with TestClient(app, follow_redirects=False) as client:
        first = client.get("/campaigns")
        assert first.status_code == 303
        assert first.headers["location"].startswith("/login")
        assert client.get("/api/campaigns").status_code == 401
        assert client.get("/login").status_code == 200
        wrong = client.post("/login", data={"token": "guess", "next": "/leads"})
        assert wrong.status_code == 401
        assert "wrong token" in wrong.text
        right = client.post("/login", data={"token": "s3cret-token", "next": "/leads"})
        assert right.status_code == 303
        assert right.headers["location"] == "/leads"
        cookie = right.cookies.get(COOKIE)
        assert cookie == session_cookie_value("s3cret-token")
        assert "s3cret" not in cookie
        assert client.get("/campaigns").status_code == 200
        client.cookies.clear()
        bearer = {"Authorization": "Bearer s3cret-token"}
        assert client.get("/api/campaigns", headers=bearer).status_code == 200
        evil = client.post("/login", data={"token": "s3cret-token", "next": "//evil.example"})
        assert evil.headers["location"] == "/campaigns"


def test_beyond_loopback_without_a_token_the_dashboard_stays_closed(sim: Simulation) -> None:
    app = make_app(sim)
    app.state.services.extra["bind_host"] = "0.0.0.0"
    with TestClient(app) as client:
        answer = client.get("/campaigns")
        assert answer.status_code == 503
        assert "LINKSEQ_UI_TOKEN" in answer.text
        assert client.get("/api/leads").status_code == 503


def test_loopback_with_a_token_set_still_asks_for_it(sim: Simulation) -> None:
    app = make_app(sim, ui_token="tok-123456")
    with TestClient(app, follow_redirects=False) as client:
        assert client.get("/inbox").status_code == 303
