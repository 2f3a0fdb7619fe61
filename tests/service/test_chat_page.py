"""The chat page in a real headless Chromium against a real server: ask, open footnotes, follow up, reload."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Locator, Page, Route, expect, sync_playwright

from footnote.service.answering.answerer import MAY_NOT_ANSWER, NOT_FOUND
from tests.conftest import ROOT
from tests.service.conftest import live_server

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
ARTIFACTS = ROOT / "test-artifacts"
IBM_URL = (
    "https://www.rapidus.inc/en/news_topics/information/"
    "ibm-and-rapidus-form-strategic-partnership-to-build-advanced-semiconductor-technology-and-ecosystem-in-japan/"
)
SCRIPT = "<script>window.__pwned=1</script>"
IMG = '<img src=x onerror="window.__pwned=1">'
WAIT = 30_000  # ms: answers take well under a second, but CI machines are shared and noisy
AA_CONTRAST = 4.5  # WCAG 2 level AA: the least contrast of body text against its background

@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    # `make test` installs it; a missing browser is a failure, not a silent skip.
    assert CHROMIUM.exists(), f"{CHROMIUM} is missing: run `make browser` (apt-get install chromium)"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser: Browser, request: pytest.FixtureRequest) -> Iterator[Page]:
    # Light unless a test asks for a colour scheme: @pytest.mark.parametrize("page", ["dark"], indirect=True).
    context = browser.new_context(viewport={"width": 1280, "height": 860},
                                  color_scheme=getattr(request, "param", "light"))
    page = context.new_page()
    page.set_default_timeout(WAIT)
    # Script errors and Content-Security-Policy violations fail the test that caused them.
    problems: list[str] = []
    page.on("pageerror", lambda exc: problems.append(f"page error: {exc}"))
    page.on("console", lambda msg: problems.append(msg.text) if "Content Security Policy" in msg.text else None)
    yield page
    context.close()
    assert not problems, problems


def ask(page: Page, question: str) -> Locator:
    """Type a question, press Enter, wait for its answer; returns the new turn's locator."""
    turns = page.locator("#conversation .turn")
    before = turns.count()
    box = page.get_by_label("Ask a question")
    box.fill(question)
    box.press("Enter")
    turn = turns.nth(before)
    expect(turn.locator(".question")).to_contain_text(question)
    expect(turn.locator(".reply .who")).to_be_visible()  # the reply is filled in
    expect(page.locator("#conversation")).to_have_attribute("aria-busy", "false")
    return turn


def test_ask_footnote_document_follow_up_reload_and_new_conversation(page: Page, corpus_server: str) -> None:
    page.goto(corpus_server)

    first = ask(page, "What is Rapidus?")
    expect(first.locator(".quote").first).to_contain_text("Rapidus")
    expect(first.locator(".rewritten")).to_have_count(0)  # a standalone question is searched as asked

    # The footnote: quote, title and section, the document's own cited source with a working link.
    ibm_marker = first.locator(".quote", has_text="IBM").get_by_role("link", name=re.compile(r"^footnote \d+$"))
    ibm_marker.click()
    panel = page.locator("#panel")
    expect(panel).to_be_visible()
    quote = panel.locator(".fn-quote")
    expect(quote).to_contain_text("Rapidus is partnering with IBM")
    expect(panel.locator(".where")).to_contain_text("Critical and Emerging Technologies Index 2025: Japan Report")
    expect(panel.locator(".where")).to_contain_text("Semiconductors")
    link = panel.locator(f'a[href="{IBM_URL}"]')
    expect(link).to_be_visible()
    expect(link).to_have_attribute("rel", re.compile(r"\bnoopener\b"))
    expect(link).to_have_attribute("target", "_blank")
    expect(panel.locator(".citation").first).to_contain_text("IBM and Rapidus Form Strategic Partnership")

    # Show in document: the document text with the quote marked and scrolled into view.
    panel.get_by_role("button", name="Show in document").click()
    dialog = page.get_by_role("dialog")
    mark = dialog.locator("#document-text mark")
    expect(mark).to_be_visible()
    assert mark.text_content() == quote.text_content()
    expect(mark).to_be_in_viewport()
    text = dialog.locator("#document-text").text_content()
    assert len(text) > 10 * len(quote.text_content())  # the whole document, not just the quote
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "chat-document.png"))
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()

    # A follow-up sends the conversation: the page shows the rewritten query and an IBM answer.
    second = ask(page, "Who is it partnering with?")
    expect(second.locator(".rewritten .query")).to_have_text("Who is Rapidus partnering with?")
    expect(second.locator(".quote").first).to_contain_text("IBM")
    second.get_by_role("link", name="footnote 1").click()
    expect(panel.locator(".fn-quote")).to_be_visible()
    page.screenshot(path=str(ARTIFACTS / "chat.png"))

    # The conversation survives a reload, and its footnotes still open.
    page.reload()
    turns = page.locator("#conversation .turn")
    expect(turns).to_have_count(2)
    expect(turns.nth(0).locator(".question")).to_have_text(re.compile("What is Rapidus"))
    expect(turns.nth(1).locator(".rewritten .query")).to_have_text("Who is Rapidus partnering with?")
    turns.nth(1).get_by_role("link", name="footnote 1").click()
    expect(page.locator("#panel .fn-quote")).to_contain_text("IBM")

    # New conversation clears it, also across a reload.
    page.get_by_role("button", name="New conversation").click()
    expect(turns).to_have_count(0)
    expect(page.locator("#panel")).to_be_hidden()
    page.reload()
    expect(page.locator("#empty")).to_be_visible()
    expect(turns).to_have_count(0)


def test_not_found_and_progress_indicator(page: Page, corpus_server: str) -> None:
    page.goto(corpus_server)
    # Hold the answer back so the waiting state can be seen, then let it through.
    held: list[Route] = []
    page.route("**/answer", lambda route: held.append(route))
    box = page.get_by_label("Ask a question")
    box.fill("What is the recipe for banana bread?")
    box.press("Enter")
    expect(page.locator("#conversation")).to_have_attribute("aria-busy", "true")
    expect(page.get_by_text("Searching…")).to_be_visible()
    for _ in range(WAIT // 20):  # lets Playwright deliver the intercepted request to the handler
        if held:
            break
        page.wait_for_timeout(20)
    held[0].continue_()
    expect(page.locator("#conversation")).to_have_attribute("aria-busy", "false")
    expect(page.get_by_text("Searching…")).to_be_hidden()
    reply = page.locator("#conversation .turn .reply")
    expect(reply.locator(".not-found")).to_have_text(NOT_FOUND)  # the server's own words
    expect(reply.get_by_role("link")).to_have_count(0)


def contrast(page: Page, locator: Locator) -> float:
    """WCAG 2 contrast ratio of an element's text colour against the background it is drawn on (its own, or
    the nearest ancestor's that is not transparent)."""
    colours = locator.evaluate("""(node) => {
        const color = getComputedStyle(node).color;
        for (let at = node; at; at = at.parentElement) {
            const background = getComputedStyle(at).backgroundColor;
            if (background !== "rgba(0, 0, 0, 0)") return [color, background];
        }
        return [color, getComputedStyle(document.documentElement).backgroundColor];
    }""")

    def luminance(css: str) -> float:
        r, g, b, *alpha = (float(x) for x in re.findall(r"[\d.]+", css))
        assert alpha in ([], [1.0]), f"{css}: a translucent colour depends on what lies below"
        linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in (r / 255, g / 255, b / 255)]
        return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]

    light, dark = sorted((luminance(colours[0]), luminance(colours[1])), reverse=True)
    return (light + 0.05) / (dark + 0.05)


@pytest.mark.parametrize("page", ["light", "dark"], indirect=True)
def test_a_low_confidence_answer_shows_a_warning_once(page: Page, corpus_server: str) -> None:
    page.goto(corpus_server)
    # Confidence 0.71: between the two thresholds (0.55 and 0.90).
    question = "Which young company became a world leader in cleaning up space junk?"
    body = httpx.post(f"{corpus_server}/answer", json={"question": question}).json()
    assert body["grounded"] is True and body["uncertain"] is True  # below the fitted confident_from
    turn = ask(page, question)
    warning = turn.locator(".reply .uncertain")
    expect(warning).to_have_text(MAY_NOT_ANSWER)  # the server's own words
    expect(warning).to_have_attribute("role", "note")
    # The API text opens with the warning: the page shows it once, above the quote.
    expect(turn.locator(".reply .quote")).not_to_contain_text(MAY_NOT_ANSWER)
    expect(turn.get_by_role("link", name="footnote 1")).to_have_count(1)
    # Readable in the page's light and dark themes alike.
    assert contrast(page, warning) >= AA_CONTRAST
    ARTIFACTS.mkdir(exist_ok=True)
    scheme = page.evaluate("() => matchMedia('(prefers-color-scheme: dark)').matches ? 'dark' : 'light'")
    warning.screenshot(path=str(ARTIFACTS / f"chat-uncertain-{scheme}.png"))


def test_the_page_keeps_the_history_within_the_servers_limits(page: Page, corpus_index: Path) -> None:
    """The page learns the limits from the server that serves it: whatever they are, it sends the latest turns
    that fit them, each cut to the per-turn limit, and the server takes every question."""
    limits = {"max_question_chars": 300, "max_history_turns": 3, "max_turn_chars": 30, "max_history_chars": 86}
    questions = ["What is Rapidus?", "Who is it partnering with?",
                 "Which semiconductor technology is Rapidus developing with IBM?", "Since when?"]
    with live_server(corpus_index, **limits) as url:
        page.goto(url)
        expect(page.get_by_label("Ask a question")).to_have_attribute("maxlength", "300")
        sent = []
        for question in questions:
            with page.expect_request("**/answer") as request:
                turn = ask(page, question)
            expect(turn.locator(".error")).to_have_count(0)
            sent.append(request.value.post_data_json["history"])
        stored = page.evaluate("() => JSON.parse(localStorage.getItem('footnote.conversation.v1'))")
    answers = [turn["answer"]["answer"] for turn in stored]
    assert all(len(answer) > 30 for answer in answers[:2])  # so they are sent cut

    def user(n: int) -> dict[str, str]:
        return {"role": "user", "content": questions[n][:30]}

    def assistant(n: int) -> dict[str, str]:
        return {"role": "assistant", "content": answers[n][:30]}

    assert sent == [
        [],
        [user(0), assistant(0)],
        [assistant(0), user(1), assistant(1)],  # 86 characters; three turns at most: the first question goes
        [user(2), assistant(2)],  # the second answer would make more than 86 characters
    ]


def test_accessible_names_and_roles(page: Page, corpus_server: str) -> None:
    page.goto(corpus_server)
    box = page.get_by_label("Ask a question")
    expect(box).to_be_focused()
    log = page.get_by_role("log")
    expect(log).to_have_attribute("aria-live", "polite")
    expect(log).to_have_attribute("id", "conversation")
    expect(page.get_by_role("button", name="New conversation")).to_be_visible()
    ask(page, "Which company is Rapidus partnering with?")
    marker = log.get_by_role("link", name="footnote 1")
    expect(marker).to_have_count(1)
    # Keyboard only: focus the marker, press Enter, and the footnote opens with focus on its heading.
    marker.focus()
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Footnote 1")).to_be_focused()
    page.keyboard.press("Escape")
    expect(page.locator("#panel")).to_be_hidden()
    expect(marker).to_be_focused()


def test_static_files_are_served_with_a_strict_policy(corpus_server: str) -> None:
    page = httpx.get(corpus_server + "/")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    csp = page.headers["content-security-policy"]
    assert "default-src 'none'" in csp and "script-src 'self'" in csp and "connect-src 'self'" in csp
    assert 'src="/static/app.js"' in page.text and "http" not in page.text.split("<body>")[0]
    assert httpx.get(corpus_server + "/static/app.js").headers["content-type"].startswith("text/javascript")
    assert httpx.get(corpus_server + "/static/app.css").headers["content-type"].startswith("text/css")
    assert httpx.get(corpus_server + "/static/secrets.txt").status_code == 404


@pytest.fixture(scope="module")
def injection_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A server over one document whose text holds markup that would run if parsed as HTML."""
    from footnote.index.build import update_index

    folder = tmp_path_factory.mktemp("injection-corpus")
    (folder / "glorbix-manual.txt").write_text(
        "Glorbix Manual\n\n"
        "The Glorbix widget is a purple gadget assembled in Zanzibar for lighthouse keepers.\n\n"
        f"The Glorbix widget firmware prints {SCRIPT} and {IMG} when it boots.\n",
        encoding="utf-8",
    )
    index_dir = tmp_path_factory.mktemp("injection-index") / "index"
    update_index([folder], index_dir, chunk_tokens=160, overlap=0, echo=lambda s: None)
    with live_server(index_dir) as url:
        yield url


def test_document_markup_renders_as_inert_text(page: Page, injection_server: str) -> None:
    page.goto(injection_server)
    turn = ask(page, "What does the Glorbix widget firmware print when it boots?")
    answer = turn.locator(".reply")
    expect(answer).to_contain_text(SCRIPT)
    expect(answer).to_contain_text(IMG)
    marker = turn.locator(".quote", has_text=SCRIPT).get_by_role("link", name=re.compile(r"^footnote \d+$"))
    marker.click()
    expect(page.locator("#panel .fn-quote")).to_contain_text(SCRIPT)
    page.get_by_role("button", name="Show in document").click()
    mark = page.locator("#document-text mark")
    expect(mark).to_contain_text(IMG)
    expect(page.locator("#document-text")).to_contain_text("Glorbix Manual")
    # The markup is text: no element was made from it, and nothing ran.
    for where in ("#conversation", "#panel", "#document-text"):
        assert page.locator(f"{where} script, {where} img").count() == 0
    assert page.evaluate("() => typeof window.__pwned") == "undefined"
    page.reload()
    expect(page.locator("#conversation .reply")).to_contain_text(SCRIPT)
    assert page.locator("#conversation script, #conversation img").count() == 0
    assert page.evaluate("() => typeof window.__pwned") == "undefined"


def test_api_key_field_sends_the_bearer_token(page: Page, corpus_index: Path) -> None:
    with live_server(corpus_index, api_key="s3cret") as url:
        page.goto(url)
        box = page.get_by_label("Ask a question")
        box.fill("What is Rapidus?")
        box.press("Enter")
        expect(page.get_by_role("alert")).to_contain_text("API key")
        key = page.get_by_label("API key", exact=True)
        expect(key).to_be_focused()
        key.fill("s3cret")
        key.press("Enter")  # stored, and back to the question box
        expect(page.get_by_label("Ask a question")).to_be_focused()
        turn = ask(page, "What is Rapidus?")
        expect(turn.get_by_role("link", name="footnote 1")).to_be_visible()
