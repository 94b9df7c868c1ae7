"""The review app in a real browser: headless Debian chromium (Playwright) against the app served by
uvicorn on a free local port. Saves screenshots of the queue and the item view under test-artifacts/."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from browser_harness import CHROMIUM, CHROMIUM_ARGS, accessibility_problems, needs_chromium, screenshot, serve
from review_fixtures import PASSWORD, ReviewDb, build_review_db, copy_review_db

from pipeline.store import Store

A, B, C = "a" * 64, "b" * 64, "c" * 64

pytestmark = [needs_chromium, pytest.mark.slow]


@dataclass(frozen=True)
class Site:
    url: str
    review: ReviewDb

    def status(self, document: str, ordinal: int, entry: str) -> str | None:
        with Store(self.review.path) as store:
            row = store.db.execute("select status from evidence where passage = ? and taxonomy = ? and entry = ?",
                                   list(self.review.key(document, ordinal, entry))).fetchone()
        return row[0] if row else None


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def template(tmp_path_factory) -> ReviewDb:
    return build_review_db(tmp_path_factory.mktemp("review"))


@pytest.fixture
def site(template, tmp_path) -> Iterator[Site]:
    review = copy_review_db(template, tmp_path)
    with serve(review.path) as url:
        yield Site(url, review)


def _new_page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(10_000)
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.on("console", lambda message: problems.append(message.text) if "Content Security Policy" in message.text
            else None)
    return context, page, problems


@pytest.fixture
def page(browser):
    context, page, problems = _new_page(browser)
    yield page
    context.close()
    assert not problems, problems  # no script errors, nothing blocked by the CSP


def log_in(page, site: Site, name: str) -> None:
    page.goto(f"{site.url}/queue")
    assert "/login" in page.url
    page.fill("input[name=name]", name)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]:has-text('Log in')")
    page.wait_for_url(f"{site.url}/queue")


def test_log_in_filter_the_queue_and_confirm_with_the_keyboard(page, site):
    from playwright.sync_api import expect

    log_in(page, site, "ana")
    expect(page.locator("tr.row")).to_have_count(9)
    screenshot(page, "review-queue")
    page.goto(f"{site.url}/queue?min_probability=0.7")
    screenshot(page, "review-queue-docs", docs=True)
    page.goto(f"{site.url}/queue")
    page.keyboard.press("?")
    expect(page.locator("#help")).to_be_visible()
    page.keyboard.press("Escape")
    expect(page.locator("#help")).to_be_hidden()

    page.select_option("select[name=authority]", "brackenmoor")
    page.click("button:has-text('Filter')")
    page.wait_for_url(f"{site.url}/queue?authority=brackenmoor")  # empty filters are left out
    expect(page.locator("tr.row")).to_have_count(7)
    expect(page.locator("#left-count")).to_have_text("7")
    page.keyboard.press("j")
    expect(page.locator("tr.row.current")).to_have_count(1)
    page.keyboard.press("Enter")
    page.wait_for_url("**/items/p-a-1/bv-2023-draft/R-F09?authority=brackenmoor&pos=0")
    expect(page.locator("mark")).to_have_text(re.compile("^The Chief Finance Officer has issued a Section 114"))
    screenshot(page, "review-item", docs=True)
    page.keyboard.press("c")
    page.wait_for_url("**/items/p-b-0/**review=*")
    expect(page.locator("#banner")).to_contain_text("Confirmed R-F09.")
    assert site.status(A, 1, "R-F09") == "confirmed"
    expect(page.locator("#prev-link")).to_have_count(0)  # the confirmed item has left the queue
    page.goto(f"{site.url}/queue?authority=brackenmoor")
    expect(page.locator("#left-count")).to_have_text("6")


def test_reject_with_a_reason_then_undo_then_reassign_and_note(page, site):
    from playwright.sync_api import expect

    log_in(page, site, "bob")
    item = f"{site.url}{site.review.item_path(A, 3, 'R-F02')}"
    page.goto(item)
    page.keyboard.press("r")
    expect(page.locator("#reject-hint")).to_be_visible()
    page.keyboard.press("2")  # wrong polarity
    page.wait_for_url("**review=*")
    assert site.status(A, 3, "R-F02") == "rejected"

    page.goto(item)
    expect(page.locator("#history")).to_contain_text("wrong polarity")
    page.keyboard.press("u")
    page.wait_for_url("**done=undo**")
    expect(page.locator("#banner")).to_have_text("Undone.")
    assert site.status(A, 3, "R-F02") == "suggested"

    page.keyboard.press("a")
    expect(page.locator("#reassign-q")).to_be_focused()
    page.keyboard.type("reserves")
    hits = page.locator("#reassign-results input[name=new_entry]")
    expect(hits.first).to_be_visible()
    assert hits.count() >= 2
    page.keyboard.press("Enter")  # typing alone decides nothing
    expect(page.locator("#reassign-results .chosen")).to_have_count(0)
    assert site.status(A, 3, "R-F02") == "suggested"
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowUp")
    page.keyboard.press("ArrowDown")
    second = hits.nth(1).get_attribute("value")
    expect(hits.nth(1)).to_be_checked()
    expect(page.locator("#reassign-results .chosen")).to_contain_text(second)
    page.keyboard.press("Escape")  # cancels: the choice and the hits are gone, nothing decided
    expect(hits).to_have_count(0)
    expect(page.locator("#reassign-q")).to_have_value("")
    page.keyboard.press("a")
    page.keyboard.type("section 114")
    expect(page.locator("#reassign-results input[value='R-F09']")).to_be_visible()
    page.keyboard.press("ArrowDown")
    expect(page.locator("#reassign-results input[value='R-F09']")).to_be_checked()
    screenshot(page, "review-reassign", full_page=False)
    page.keyboard.press("Enter")
    page.wait_for_url("**review=*")
    assert site.status(A, 3, "R-F02") == "rejected" and site.status(A, 3, "R-F09") == "confirmed"

    page.goto(f"{site.url}{site.review.item_path(A, 3, 'R-F09')}")
    page.keyboard.press("n")
    page.keyboard.type("Moved here from R-F02: it is the s114 notice.")
    page.keyboard.press("Control+Enter")
    page.wait_for_url("**done=note**")
    expect(page.locator("#history")).to_contain_text("Moved here from R-F02")
    page.keyboard.press("u")  # from the new entry's page, one undo takes the whole reassignment back
    page.wait_for_url("**/items/p-a-3/bv-2023-draft/R-F02?done=undo")
    assert site.status(A, 3, "R-F02") == "suggested" and site.status(A, 3, "R-F09") is None


def test_a_late_answer_to_the_same_words_keeps_the_entry_chosen_with_the_arrows(page, site):
    """Two lookups of the same words can be in flight at once; the later answer must not undo the
    analyst's choice, or Enter would do nothing (the race this app once lost on a slow machine)."""
    from playwright.sync_api import expect

    held: list = []
    holding = False

    def entries(route):
        if holding:
            held.append(route)
        else:
            route.continue_()

    log_in(page, site, "bob")
    page.route("**/api/entries?*", entries)
    page.goto(f"{site.url}{site.review.item_path(A, 3, 'R-F02')}")
    page.keyboard.press("a")
    page.keyboard.type("reserves")
    hits = page.locator("#reassign-results input[name=new_entry]")
    expect(hits.first).to_be_visible()
    assert hits.count() >= 2

    holding = True
    page.keyboard.type(" ")  # the same words once trimmed: a second lookup, held unanswered
    for _ in range(100):
        if held:
            break
        page.wait_for_timeout(50)
    assert held, "the second lookup was never sent"
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowDown")
    second = hits.nth(1).get_attribute("value")
    expect(hits.nth(1)).to_be_checked()
    listed = hits.nth(1).element_handle()
    held.pop().continue_()
    page.wait_for_function("radio => !radio.isConnected", arg=listed)  # the late answer has been shown
    expect(hits.nth(1)).to_be_checked()
    expect(page.locator("#reassign-results .chosen")).to_contain_text(second)
    page.keyboard.press("Enter")
    page.wait_for_url("**review=*")
    assert site.status(A, 3, "R-F02") == "rejected" and site.status(A, 3, second) == "confirmed"


def test_decide_then_undo_from_the_next_item(page, site):
    from playwright.sync_api import expect

    log_in(page, site, "ana")
    page.goto(f"{site.url}/queue?authority=brackenmoor")
    page.keyboard.press("j")
    page.keyboard.press("Enter")
    page.wait_for_url("**/items/p-a-1/bv-2023-draft/R-F09?**")
    page.keyboard.press("c")
    page.wait_for_url("**/items/p-b-0/**review=*")  # moved on to the next item
    expect(page.locator("#banner")).to_contain_text("Confirmed R-F09.")
    screenshot(page, "review-undo-banner", full_page=False, docs=True)
    assert site.status(A, 1, "R-F09") == "confirmed"
    page.keyboard.press("u")  # undoes my last decision, not this item's
    page.wait_for_url("**/items/p-a-1/bv-2023-draft/R-F09?done=undo")
    assert site.status(A, 1, "R-F09") == "suggested"
    page.goto(f"{site.url}/queue")
    expect(page.locator("#recent li").first).to_contain_text("R-F09 confirm")
    expect(page.locator("#recent li").first).to_contain_text("undone or decided again")


def test_bulk_with_row_selection_and_undo_of_the_batch(page, site):
    from playwright.sync_api import expect

    log_in(page, site, "ana")
    expect(page.locator("#bulk-form")).to_have_count(0)
    page.goto(f"{site.url}/bulk?authority=ferncastle&decision=confirm")
    expect(page.locator(".error")).to_contain_text("only a lead")
    page.click("button:has-text('Log out')")
    page.wait_for_url("**/login")

    log_in(page, site, "lee")
    page.goto(f"{site.url}/queue?authority=brackenmoor")
    page.check("input.row-select[value='p-a-2|bv-2023-draft|R-F05']")
    page.check("input.row-select[value='p-b-0|bv-2023-draft|G-F01']")
    page.select_option("#bulk-form select[name=decision]", "confirm")
    page.click("#bulk-form button[type=submit]")
    expect(page.locator("#bulk-count")).to_have_text("2")
    expect(page.locator("#bulk-items tbody tr")).to_have_count(2)
    expect(page.locator("#bulk-items")).to_contain_text("General fund reserves have fallen")
    screenshot(page, "review-bulk", full_page=False, docs=True)
    assert site.status(A, 2, "R-F05") == "suggested"  # nothing yet: this is the confirmation step
    page.fill("#bulk-note", "Both read in full: reserves below minimum, audit weaknesses.")
    page.click("button:has-text('Yes, confirm 2 items')")
    expect(page.locator("#banner")).to_contain_text("Bulk confirm applied to 2 items.")
    assert site.status(A, 2, "R-F05") == site.status(B, 0, "G-F01") == "confirmed"
    assert site.status(A, 3, "R-F02") == "suggested"  # not selected
    page.click("#undo-batch-form button")
    expect(page.locator("#banner")).to_contain_text("Bulk decision undone on 2 items")
    assert site.status(A, 2, "R-F05") == site.status(B, 0, "G-F01") == "suggested"

    page.goto(f"{site.url}/queue?authority=brackenmoor")
    page.check("#select-page")  # select all on the page
    page.click("#bulk-form button[type=submit]")
    expect(page.locator("#bulk-count")).to_have_text("5")  # 7 rows; the two low-confidence ones left out
    expect(page.locator("#left-out li")).to_have_count(2)
    page.click("#risky-toggle button")
    expect(page.locator("#bulk-count")).to_have_text("7")


def test_two_reviewers_with_assignment_never_open_the_same_item(browser, site):
    from playwright.sync_api import expect

    lead_context, lead, _ = _new_page(browser)
    log_in(lead, site, "lee")
    for authority, reviewer in (("brackenmoor", "ana"), ("ferncastle", "bob")):
        lead.goto(f"{site.url}/queue?authority={authority}")
        lead.select_option("#assign-form select[name=assignee]", reviewer)
        lead.click("#assign-form button[type=submit]")
        expect(lead.locator("#banner")).to_contain_text("Assigned")
    lead_context.close()

    pages = {}
    for name in ("ana", "bob"):
        context, page, problems = _new_page(browser)
        log_in(page, site, name)
        pages[name] = (context, page, problems)
    opened: dict[str, list[str]] = {"ana": [], "bob": []}
    for _, page, _ in pages.values():  # both open the first item of their default view at the same time
        page.goto(f"{site.url}/queue")
        page.keyboard.press("j")
        page.keyboard.press("Enter")
        page.wait_for_url("**/items/**")
    assert pages["ana"][1].url.split("?")[0] != pages["bob"][1].url.split("?")[0]
    for name, (_, page, _) in pages.items():  # then each works through their own queue
        while "/items/" in page.url:
            current = page.url
            opened[name].append(current.split("/items/")[1].split("?")[0])
            expect(page.locator("#confirm-button")).to_be_visible()
            page.keyboard.press("c")
            page.wait_for_url(lambda url, before=current: url != before)
    for context, _, problems in pages.values():
        context.close()
        assert not problems, problems
    assert len(opened["ana"]) == 7 and len(opened["bob"]) == 2
    assert not set(opened["ana"]) & set(opened["bob"])
    assert all(key.startswith(("p-a-", "p-b-")) for key in opened["ana"])


def test_blind_review_by_keyboard_then_settle_the_disagreement(page, site):
    from playwright.sync_api import expect

    with Store(site.review.path) as store:
        for ordinal, entry in ((1, "R-F09"), (2, "R-F05")):
            store.add_review(*site.review.key(A, ordinal, entry), "confirm", "ana", classifier_id="clf-current")
    log_in(page, site, "lee")
    page.goto(f"{site.url}/second-reviews")
    page.select_option("#second-review-form select[name=assignee]", "bob")
    page.fill("#second-review-form input[name=size]", "2")
    page.click("#second-review-form button[type=submit]")
    expect(page.locator(".flash")).to_contain_text("Sent 2 decided items to bob")
    page.click("button:has-text('Log out')")

    log_in(page, site, "bob")
    page.goto(f"{site.url}/second-reviews")
    page.click("#start-second-reviews")
    expect(page.locator(".status")).to_have_count(0)  # blind: no status, no earlier decision
    first = page.locator("h1 .entry-id").inner_text()
    page.keyboard.press("c" if first == "R-F09" else "r")
    if first != "R-F09":
        page.keyboard.press("4")  # historical
    expect(page.locator("#banner, .flash").first).to_contain_text("Here is your next one")
    screenshot(page, "review-blind", full_page=False)
    second = page.locator("h1 .entry-id").inner_text()
    assert {first, second} == {"R-F09", "R-F05"}
    page.keyboard.press("c" if second == "R-F09" else "r")
    if second != "R-F09":
        page.keyboard.press("4")
    expect(page.locator(".flash")).to_contain_text("That was your last second review")
    page.click("button:has-text('Log out')")

    log_in(page, site, "lee")  # bob rejected R-F05, which ana confirmed: a disagreement to settle
    page.goto(f"{site.url}/agreement")
    expect(page.locator("#disagreements > li")).to_have_count(1)
    expect(page.locator("#disagreements")).to_contain_text("ana: confirm")
    expect(page.locator("#disagreements")).to_contain_text("bob: reject")
    screenshot(page, "review-agreement", full_page=False, docs=True)
    page.select_option("#disagreements select[name=reason]", "historical")
    page.fill("#disagreements input[name=note]", "The reserves figures are from 2019.")
    page.click("#disagreements button:has-text('Settle: reject')")
    expect(page.locator(".flash")).to_contain_text("Settled")
    expect(page.locator("#disagreements")).to_have_count(0)
    assert site.status(A, 2, "R-F05") == "rejected"
    with Store(site.review.path) as store:
        settled = store.db.execute("select reviewer, decision, reason, settles from reviews order by id desc limit 1"
                                   ).fetchone()
    assert settled == ("lee", "reject", "historical", 1)
    expect(page.locator("#theme-precision")).to_contain_text("R")


def test_the_heat_map_shows_a_confirmation(page, site):
    from playwright.sync_api import expect

    log_in(page, site, "ana")
    dashboard = f"{site.url}/dashboard?authority=brackenmoor"
    page.goto(dashboard)
    cell = page.locator("#heatmap td[data-entry='R-F09']")
    expect(cell).to_have_attribute("data-confirmed", "0")
    page.goto(f"{site.url}{site.review.item_path(A, 1, 'R-F09')}")
    page.keyboard.press("c")
    page.wait_for_url("**review=*")
    page.goto(dashboard)
    expect(cell).to_have_attribute("data-confirmed", "1")
    expect(cell).to_contain_text("1✓")
    expect(page.locator(".progress")).to_contain_text("ana")


PAGES = ["/queue", "/recent", "/queue?status=any&authority=brackenmoor",
         "/items/p-a-3/bv-2023-draft/R-F02?q=section+114", "/dashboard", "/agreement", "/second-reviews",
         "/reviewers", "/bulk?decision=confirm&authority=ferncastle", "/no-such-page"]


def test_every_page_passes_the_accessibility_check(page, site):
    page.goto(f"{site.url}/login")
    assert accessibility_problems(page) == []
    log_in(page, site, "lee")
    found = {}
    for path in PAGES:
        page.goto(f"{site.url}{path}")
        found[path] = accessibility_problems(page)
    page.goto(f"{site.url}/queue")
    page.keyboard.press("?")
    found["help"] = accessibility_problems(page)
    assert found == {path: [] for path in found}
