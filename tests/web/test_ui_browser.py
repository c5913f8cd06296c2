"""The dashboard in Debian's Chromium (Playwright), against uvicorn on a sandbox campaign's DB.

Screenshots are kept under artifacts/screenshots/ (gitignored) as test artefacts.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from linkseq.demo.simulation import Simulation
from tests.web.conftest import Served

pytestmark = pytest.mark.browser

ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Debian's chromium, never a downloaded one."""
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    """A fresh page, 1280 px wide."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        yield context.new_page()
    finally:
        context.close()


def test_funnel_shows_the_numbers_of_the_sandbox(
    page: Page, server: Served, sim: Simulation, artifacts: Path
) -> None:
    page.goto(f"{server.url}/campaigns")
    truth = sim.funnel()
    totals = sim.sandbox.report()["totals"]
    assert truth["invited"] == totals["invitations_sent"]
    for stage in ("enrolled", "visited", "invited", "accepted", "messaged", "replied"):
        cell = page.locator(f'tr[data-stage="{stage}"] td[data-count]')
        expect(cell).to_have_text(str(truth[stage]))
    expect(page.locator("svg.funnel-chart rect")).to_have_count(6)
    page.screenshot(path=str(artifacts / "campaigns.png"), full_page=True)
    page.goto(f"{server.url}/identities")
    expect(page.locator("[data-identity]")).to_have_count(2)
    page.screenshot(path=str(artifacts / "identities.png"), full_page=True)


def test_a_thread_opens_and_a_reply_reaches_the_sandbox(
    page: Page, server: Served, sim: Simulation, artifacts: Path
) -> None:
    page.goto(f"{server.url}/inbox")
    first = page.locator("ul.threads li[data-thread]").first
    expect(first).to_be_visible()
    first.locator("a").click()  # htmx loads the pane
    expect(page.locator("#thread ol.messages li").first).to_be_visible()
    assert "/inbox?thread=" in page.url
    text = "Thanks, replying from the linkseq inbox"
    page.fill("#thread textarea[name=text]", text)
    page.click('#thread button[data-action="reply"]')
    expect(page.locator("#thread [data-notice]")).to_have_text("reply sent")
    expect(page.locator("#thread ol.messages li.ours").last).to_contain_text(text)
    sent = [
        e
        for e in sim.sandbox.log
        if e.get("action") == "linkedin-message-profile"
        and (e.get("parameters") or {}).get("message") == text
    ]
    assert len(sent) == 1
    page.screenshot(path=str(artifacts / "inbox.png"), full_page=True)


def test_a_campaign_pauses(page: Page, server: Served, sim: Simulation, artifacts: Path) -> None:
    page.goto(f"{server.url}/campaigns")
    card = page.locator("article.campaign").first
    expect(card.locator("[data-forecast]")).to_be_visible()
    card.locator('button[data-action="pause"]').click()
    expect(page.locator("article.campaign [data-status]").first).to_have_text("paused")
    from linkseq.engine.explain import campaign_forecast
    from linkseq.store.models import Campaign

    with sim.sessions() as session:
        statuses = {c.status.value for c in session.query(Campaign)}
        [campaign] = session.query(Campaign).all()
        left = campaign_forecast(session, campaign, sim.clock.now()).leads_left
    assert statuses == {"paused"}
    # the swapped card says the paused campaign has no forecast (unless nobody is left)
    expect(page.locator("article.campaign [data-forecast]").first).to_contain_text(
        "Every lead has been contacted." if left == 0 else "the campaign is not running"
    )
    page.screenshot(path=str(artifacts / "campaign-paused.png"), full_page=True)
    page.locator('article.campaign button[data-action="start"]').first.click()
    expect(page.locator("article.campaign [data-status]").first).to_have_text("active")


def test_a_csv_with_bad_rows_shows_its_errors(
    page: Page, server: Served, tmp_path: Path, artifacts: Path
) -> None:
    csv = tmp_path / "leads.csv"
    csv.write_text(
        "linkedin_profile_url,first_name\n"
        "https://www.linkedin.com/in/browser-good,Ann\n"
        "definitely not a profile,Bob\n"
        "https://www.linkedin.com/in/browser-good-two,Cy\n"
        "https://example.com/in/nope,Di\n",
        encoding="utf-8",
    )
    page.goto(f"{server.url}/leads")
    page.set_input_files("input[name=file]", str(csv))
    page.check("input[name=dry_run]")
    page.click("form[hx-post='/leads/upload'] button[type=submit]")
    expect(page.locator("[data-upload-summary]")).to_contain_text("2 bad")
    expect(page.locator("table.bad-rows tr[data-line]")).to_have_count(2)
    expect(page.locator('tr[data-line="3"]')).to_be_visible()
    expect(page.locator('tr[data-line="5"]')).to_be_visible()
    page.screenshot(path=str(artifacts / "leads-upload.png"), full_page=True)


def test_leads_filter_and_lead_page(page: Page, server: Served, artifacts: Path) -> None:
    page.goto(f"{server.url}/leads")
    page.select_option("select[name=state]", "invited")
    expect(page).to_have_url(f"{server.url}/leads?campaign=&state=invited&identity=&q=")
    states = page.locator("#lead-table tbody .badge").all_inner_texts()
    assert states
    assert set(states) == {"invited"}
    page.locator("#lead-table tbody a").first.click()
    expect(page.locator("[data-why]").first).to_have_text(
        "waiting for the invitation to be accepted"
    )
    expect(page.locator("table.audit tbody tr").first).to_be_visible()
    page.screenshot(path=str(artifacts / "lead.png"), full_page=True)
