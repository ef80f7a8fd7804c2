"""The review screen in the system's Chromium, driven by Playwright: sign-in, the queue,
edit-and-approve, reject, a correction, sign-out; CSRF and an XSS attempt refused.
Screenshots go to the test's temporary directory."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Browser, Page, expect, sync_playwright
from tests.api.server import PASSWORD, Server, running_serve

pytestmark = pytest.mark.slow
CHROMIUM = Path("/usr/bin/chromium")
XSS = "<script>window.pwned = 1</script><img src=x onerror='window.pwned = 2'>"


def _ticket(ticket_id: str, subject: str, body: str, day: int) -> dict[str, str]:
    return {
        "ticket_id": ticket_id,
        "customer_id": "C1",
        "subject": subject,
        "body": body,
        "status": "open",
        "created_at": f"2024-05-0{day}T10:00:00Z",
    }


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    if not CHROMIUM.exists():
        message = f"no Chromium at {CHROMIUM} (apt-get install chromium)"
        if os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
            pytest.fail(f"{message}; CI=true: a missing browser is a failure")
        pytest.skip(message)
    with running_serve(tmp_path_factory.mktemp("screen")) as running:
        headers = {"Authorization": f"Bearer {running.token}"}
        tickets = [
            _ticket("T1", "Charged twice", "You charged me twice for 19.99 EUR.", 1),
            _ticket("T2", "Refund please", "I want a refund for my order.", 2),
            _ticket("T3", "Hello " + XSS, "Body " + XSS, 3),
        ]
        posted = httpx.post(f"{running.url}/api/v1/tickets", json=tickets, headers=headers)
        assert posted.status_code == 202
        for ticket_id in ("T1", "T2", "T3"):
            for _ in range(200):
                detail = httpx.get(f"{running.url}/api/v1/tickets/{ticket_id}", headers=headers)
                if detail.json()["status"] == "responded":
                    break
        yield running


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        yield launched
        launched.close()


@pytest.fixture
def page(server: Server, browser: Browser) -> Iterator[Page]:
    context = browser.new_context(base_url=server.url)
    opened = context.new_page()
    yield opened
    context.close()


def sign_in(page: Page, name: str = "rui", password: str = PASSWORD) -> None:
    page.goto("/login")
    page.fill("#name", name)
    page.fill("#password", password)
    page.click("button[type=submit]")


def test_a_reviewer_signs_in_approves_an_edit_rejects_corrects_and_signs_out(
    page: Page, tmp_path: Path
) -> None:
    page.goto("/")
    expect(page).to_have_url("/login")
    sign_in(page, password="wrong password!")
    expect(page.locator(".error")).to_have_text("Wrong name or password.")
    sign_in(page)
    expect(page.locator("h1")).to_have_text("Queue")
    expect(page.locator("tbody tr")).to_have_count(3)
    page.screenshot(path=tmp_path / "queue.png", full_page=True)

    page.click("text=T1")
    expect(page.locator("#reply")).to_be_visible()
    page.screenshot(path=tmp_path / "ticket.png", full_page=True)
    page.fill("#reply", page.input_value("#reply") + "\nPS: thanks for your patience.")
    page.select_option("select[name=priority]", "urgent")
    page.click("button.approve")
    expect(page.locator("h1")).to_have_text("Queue")
    expect(page.locator("tbody tr")).to_have_count(2)

    page.click("text=T2")
    page.click("button.reject")
    expect(page.locator(".error")).to_contain_text("reason: required to reject")
    page.fill("#reason", "promises a refund we cannot give")
    page.click("button.reject")
    expect(page.locator("tbody tr")).to_have_count(1)

    page.goto("/?review=approved")
    expect(page.locator("tbody tr")).to_have_count(1)
    page.click("text=T1")
    history = page.locator(".history")
    expect(history).to_contain_text("rui · approve · priority → urgent")
    expect(history).to_contain_text("edited (")
    page.goto("/?review=rejected")
    page.click("text=T2")
    expect(page.locator(".history")).to_contain_text("reject")

    page.click("text=Overview")
    summary = page.locator(".summary")
    expect(summary).to_contain_text("2 reviewed")
    expect(summary).to_contain_text("approval rate 50%")

    page.click("text=Sign out")
    expect(page).to_have_url("/login")
    page.goto("/")
    expect(page).to_have_url("/login")


def test_ticket_text_is_shown_as_text_and_never_runs(page: Page, tmp_path: Path) -> None:
    sign_in(page)
    page.goto("/?review=")
    expect(page.locator("tbody")).to_contain_text("<script>")
    page.click("text=T3")
    expect(page.locator(".body")).to_contain_text(XSS)
    page.screenshot(path=tmp_path / "xss.png")
    assert page.evaluate("window.pwned") is None
    assert page.locator("script:not([src])").count() == 0


def test_a_form_without_its_csrf_token_is_refused(page: Page, server: Server) -> None:
    sign_in(page)
    page.goto("/tickets/T3")  # T1 is approved by then: no form
    version = page.input_value("input[name=draft_version]")
    forged = page.request.post(
        f"{server.url}/tickets/T3/review",
        form={"action": "approve", "draft_version": version, "csrf_token": "forged"},
        max_redirects=0,
    )
    assert forged.status == 403
    no_header = page.request.get(f"{server.url}/api/v1/tickets/T3")
    assert no_header.status == 200  # reading with the session needs no token
    api_write = page.request.post(
        f"{server.url}/api/v1/tickets/T3/review",
        data={"action": "approve", "draft_version": version},
    )
    assert api_write.status == 403
    assert "X-CSRF-Token" in api_write.text()


def drafted(server: Server, ticket_id: str) -> dict[str, object]:
    """A ticket of its own for a test, posted through the API, once it has its draft."""
    headers = {"Authorization": f"Bearer {server.token}"}
    body = _ticket(ticket_id, "Where is my refund", "Refund 9.90 EUR please.", 4)
    posted = httpx.post(f"{server.url}/api/v1/tickets", json=body, headers=headers)
    assert posted.status_code == 202
    for _ in range(200):
        detail: dict[str, object] = httpx.get(
            f"{server.url}/api/v1/tickets/{ticket_id}", headers=headers
        ).json()
        if detail["status"] == "responded":
            return detail
    raise AssertionError(f"{ticket_id} has no draft")


def reviews_of(server: Server, ticket_id: str) -> list[tuple[str, str]]:
    headers = {"Authorization": f"Bearer {server.token}"}
    detail = httpx.get(f"{server.url}/api/v1/tickets/{ticket_id}", headers=headers).json()
    return [(review["reviewer"], review["action"]) for review in detail["reviews"]]


def test_the_a_key_asks_before_it_approves(page: Page, server: Server) -> None:
    drafted(server, "K1")
    sign_in(page)
    page.goto("/tickets/K1")
    approve, asked = page.locator("button.approve"), page.locator("#confirm")
    expect(asked).to_be_empty()
    page.keyboard.press("a")
    expect(asked).to_contain_text("Press a again or Enter to approve")
    expect(approve).to_be_focused()
    expect(page).to_have_url("/tickets/K1")
    page.keyboard.press("Escape")  # cancels the question, stays on the ticket
    expect(asked).to_be_empty()
    expect(page).to_have_url("/tickets/K1")
    page.keyboard.press("a")
    page.click("#reply")  # the focus moves away: asked again next time
    expect(asked).to_be_empty()
    page.keyboard.press("a")  # typed into the reply
    page.locator("#reply").evaluate("field => field.blur()")
    assert reviews_of(server, "K1") == []
    page.keyboard.press("a")
    page.keyboard.press("a")
    expect(page.locator("h1")).to_have_text("Queue")
    assert reviews_of(server, "K1") == [("rui", "approve")]
    # Decided: the ticket shows the decision, and the key does nothing more.
    page.goto("/tickets/K1")
    expect(page.locator("#decision")).to_contain_text("Approved by rui at")
    expect(page.locator("#review")).to_have_count(0)
    page.keyboard.press("a")
    page.keyboard.press("a")
    expect(page).to_have_url("/tickets/K1")
    assert reviews_of(server, "K1") == [("rui", "approve")]


def test_a_draft_approved_in_another_tab_is_not_approved_again(page: Page, server: Server) -> None:
    drafted(server, "K2")
    sign_in(page)
    other = page.context.new_page()
    for tab in (page, other):
        tab.goto("/tickets/K2")
    page.fill("#reply", "First approval: we refunded 9.90")
    page.click("button.approve")
    expect(page.locator("h1")).to_have_text("Queue")
    other.fill("#reply", "Correction: sorry, it was 99.00")
    other.click("button.approve")
    expect(other).to_have_url(re.compile(r"/tickets/K2\?error="))
    expect(other.locator(".error")).to_contain_text("already approved by rui at ")
    expect(other.locator("#decision")).to_contain_text("First approval: we refunded 9.90")
    expect(other.locator("#review")).to_have_count(0)
    assert reviews_of(server, "K2") == [("rui", "approve")]


def test_the_pages_have_no_serious_accessibility_violations(page: Page, server: Server) -> None:
    page.goto("/login")
    pages = {"/login": axe_problems(page)}
    sign_in(page)
    for path in ("/", "/?review=", "/tickets/T1", "/tickets/T3", "/overview"):
        page.goto(path)
        pages[path] = axe_problems(page)
    assert pages == {path: [] for path in pages}


def axe_problems(page: Page) -> list[str]:
    """axe-core's violations of serious or critical impact on the page."""
    results = Axe().run(page)
    assert results.response["testEngine"]["name"] == "axe-core"
    return [
        f"{violation['id']}: {violation['help']}"
        for violation in results.response["violations"]
        if violation["impact"] in ("serious", "critical")
    ]


def test_the_pages_fit_a_phone(server: Server, browser: Browser, tmp_path: Path) -> None:
    context = browser.new_context(base_url=server.url, viewport={"width": 390, "height": 844})
    phone = context.new_page()
    try:
        sign_in(phone)
        for path in ("/?review=", "/tickets/T1", "/overview"):
            phone.goto(path)
            phone.screenshot(path=tmp_path / f"phone{path.replace('/', '_')}.png", full_page=True)
            overflow = phone.evaluate(
                "document.documentElement.scrollWidth - document.documentElement.clientWidth"
            )
            assert overflow <= 0, (path, overflow)
    finally:
        context.close()
