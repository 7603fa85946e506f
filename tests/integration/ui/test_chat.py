"""The chat page in Debian's Chromium against a real gateway and a real backend (SmolLM2, the demo
model) on loopback: streaming, stop (button and Esc), regenerate, edit and resend, history across a
reload, search, export/delete/import, a hostile reply kept inert, the key prompt, the CSP, phone
width, and the page's own weight and first paint (printed)."""

import json
import time

import pytest
import requests

from conftest import collect_errors, keyed_context, save_screenshot
from gateway_harness import GATEWAY_KEY, SMOLLM2, SMOLLM2_ID, SMOLLM2_NO_STOP, Backend, Gateway

LONG_PROMPT = "Write a very long story about a dragon who learns to bake bread. Use many paragraphs."
# A reply a test stops or cuts while it streams: as long as the backends' HOLD_CONTEXT allows, and unable
# to end early (SMOLLM2_NO_STOP), so that it is still streaming when the test acts, on any machine.
# 400 tokens, ended whenever the model chose, took under a second.
HOLD_CONTEXT = 4096
HOLD_MAX_TOKENS = 4000


@pytest.fixture(scope="module")
def stack(module_tmp):
    backend = Backend(module_tmp, "primary", model=SMOLLM2, max_batch_size=4, context=HOLD_CONTEXT)
    gateway = Gateway(module_tmp, [("primary", backend.url)],
                      extra={"history": {"path": str(module_tmp / "history.sqlite")}})
    yield gateway
    gateway.stop()
    backend.stop()


@pytest.fixture
def page(browser, stack):
    context = keyed_context(browser, viewport={"width": 1366, "height": 768}, accept_downloads=True)
    p = collect_errors(context.new_page())
    p.goto(stack.url + "/")
    p.wait_for_selector("body[data-ready=true]", timeout=20000)
    yield p
    errors = [e for e in p.console_errors if "Failed to load resource" not in e]
    context.close()
    assert not errors, f"errors in the page's console (CSP violations show here): {errors}"


def wait_js(page, expression: str, timeout: float = 30000):
    """Polls a JavaScript expression until it is true. (page.wait_for_function evaluates its predicate
    with eval, which the page's CSP forbids, as it should; page.evaluate goes through the debugger.)"""
    deadline = time.monotonic() + timeout / 1000
    while True:
        if page.evaluate(expression):
            return
        if time.monotonic() > deadline:
            pytest.fail(f"in the page, {expression!r} was still false after {timeout / 1000:.0f} s")
        time.sleep(0.05)


def set_max_tokens(page, n: int):
    if page.locator("#settings").is_hidden():
        page.get_by_test_id("toggle-settings").click()
    page.get_by_test_id("set-max-tokens").fill(str(n))
    page.get_by_test_id("set-max-tokens").dispatch_event("change")


def replies_cannot_end_early(page):
    """Adds SMOLLM2_NO_STOP to the page's chat requests from now on (the page has no such setting): each
    reply runs to its max tokens."""
    def add_bias(route):
        body = json.loads(route.request.post_data)
        body["logit_bias"] = SMOLLM2_NO_STOP
        route.continue_(post_data=json.dumps(body))

    page.route("**/v1/chat/completions", add_bias)


def send(page, text: str):
    page.get_by_test_id("chat-input").fill(text)
    page.get_by_test_id("chat-input").press("Enter")


def wait_reply_done(page, timeout=120000):
    wait_js(page, "!document.querySelector('.message.assistant.streaming')", timeout=timeout)
    return page.get_by_test_id("message-assistant").last


def last_reply_text(page) -> str:
    return page.get_by_test_id("message-assistant").last.locator(".bubble").inner_text()


def test_key_prompt_first_paint_and_page_weight(browser, stack, output_dir):
    context = browser.new_context(viewport={"width": 1366, "height": 768})
    p = context.new_page()
    responses = []
    p.on("response", lambda r: responses.append(r))
    start = time.monotonic()
    p.goto(stack.url + "/")
    # Keys are configured: the page asks once, then keeps the key in the browser.
    p.get_by_test_id("key-dialog").wait_for(state="visible", timeout=10000)
    paint = p.evaluate("""() => {
        const e = performance.getEntriesByType('paint').find(x => x.name === 'first-contentful-paint');
        return e ? e.startTime : null; }""")
    p.get_by_test_id("key-input").fill(GATEWAY_KEY)
    p.get_by_test_id("key-save").click()
    p.wait_for_selector("body[data-ready=true]", timeout=20000)
    assert p.evaluate("localStorage.getItem('tandem.api_key')") == GATEWAY_KEY
    p.reload()
    p.wait_for_selector("body[data-ready=true]", timeout=20000)
    assert p.get_by_test_id("key-dialog").is_hidden()
    elapsed = time.monotonic() - start
    # Weight: the page's own files (HTML, CSS, JS from web/) apart from the Debian libraries.
    own = sum(len(requests.get(stack.url + path, timeout=10).content) for path in
              ["/", "/ui/app.css", "/ui/main.js", "/ui/api.js", "/ui/chat.js", "/ui/history.js", "/ui/markdown.js",
               "/ui/settings.js"])
    libs = sum(len(requests.get(stack.url + path, timeout=10).content) for path in
               ["/lib/marked.min.js", "/lib/purify.min.js", "/lib/highlight.min.js", "/lib/hljs-light.css"])
    print(f"\n[ui] chat page: own HTML/CSS/JS {own / 1024:.1f} KiB, libraries {libs / 1024:.1f} KiB, "
          f"first contentful paint {paint:.0f} ms on loopback (whole key-prompt round {elapsed:.1f} s)")
    (output_dir / "page_weight.json").write_text(json.dumps({"own_bytes": own, "library_bytes": libs,
                                                             "first_contentful_paint_ms": paint}))
    assert paint is not None
    assert own < 100 * 1024, "the page's own files grew past 100 KiB"
    csp = requests.get(stack.url + "/", timeout=10).headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    context.close()


def test_send_streams_with_stats_then_stop_regenerate_and_edit(page):
    replies_cannot_end_early(page)
    set_max_tokens(page, HOLD_MAX_TOKENS)
    send(page, LONG_PROMPT)
    assert page.get_by_test_id("message-user").last.locator(".bubble").inner_text().startswith("Write a very long story")
    # The reply streams: text appears while the message is still marked streaming, and grows.
    wait_js(page, """() => { const m = document.querySelector('.message.assistant.streaming .bubble');
                               return m && m.textContent.length > 20; }""", timeout=60000)
    first = len(last_reply_text(page))
    wait_js(page, f"""() => {{ const m = document.querySelector('.message.assistant.streaming .bubble');
                               return m && m.textContent.length > {first + 20}; }}""", timeout=60000)
    assert page.get_by_test_id("stop").is_visible()
    # Stop mid-stream with the button: the text stops growing.
    page.get_by_test_id("stop").click()
    reply = wait_reply_done(page, timeout=10000)
    stopped = last_reply_text(page)
    time.sleep(1.0)
    assert last_reply_text(page) == stopped
    assert "stopped" in reply.get_by_test_id("message-stats").inner_text()
    assert page.get_by_test_id("send").is_visible()

    # Regenerate, and stop that one with Esc.
    page.get_by_test_id("regenerate").click()
    wait_js(page, """() => { const m = document.querySelector('.message.assistant.streaming .bubble');
                               return m && m.textContent.length > 10; }""", timeout=60000)
    page.keyboard.press("Escape")
    reply = wait_reply_done(page, timeout=10000)
    assert "stopped" in reply.get_by_test_id("message-stats").inner_text()
    assert page.get_by_test_id("message-assistant").count() == 1

    # A short complete reply carries its numbers.
    set_max_tokens(page, 12)
    page.get_by_test_id("regenerate").click()
    reply = wait_reply_done(page)
    stats = reply.get_by_test_id("message-stats").inner_text()
    assert "TTFT" in stats and "tokens" in stats and "via primary" in stats, stats
    assert "stopped" not in stats

    # Edit the user message and resend: the conversation restarts from it.
    page.get_by_test_id("edit").first.click()
    page.get_by_test_id("edit-input").fill("Name three colours.")
    page.get_by_test_id("edit-send").click()
    wait_reply_done(page)
    assert page.get_by_test_id("message-user").count() == 1
    assert page.get_by_test_id("message-user").first.locator(".bubble").inner_text() == "Name three colours."
    assert page.get_by_test_id("message-assistant").count() == 1
    # (Its text may be only whitespace: the model samples at its default temperature.)
    reply = page.get_by_test_id("message-assistant").last
    assert reply.get_by_test_id("message-error").count() == 0, reply.inner_text()
    assert "tokens" in reply.get_by_test_id("message-stats").inner_text(), reply.inner_text()


def test_reload_search_export_delete_import(page, stack, tmp_path):
    set_max_tokens(page, 8)
    page.get_by_test_id("new-chat").click()
    send(page, "Tell me about zebras")
    wait_reply_done(page)
    page.get_by_test_id("new-chat").click()
    send(page, "Tell me about volcanoes")
    wait_reply_done(page)
    # Reload: both are listed, newest first, and open with their messages.
    page.reload()
    page.wait_for_selector("body[data-ready=true]")
    items = page.get_by_test_id("conversation")
    titles = [items.nth(i).inner_text() for i in range(items.count())]
    assert titles.index("Tell me about volcanoes") < titles.index("Tell me about zebras"), titles
    items.filter(has_text="Tell me about zebras").locator("button.open").click()
    wait_js(page, "document.querySelector('[data-testid=message-user] .bubble')?.textContent === 'Tell me about zebras'")
    assert page.get_by_test_id("message-assistant").count() == 1
    assert page.get_by_test_id("chat-title").inner_text() == "Tell me about zebras"

    # Search narrows the list to the matching conversation.
    page.get_by_test_id("search").fill("ZEBRA")
    wait_js(page, "document.querySelectorAll('[data-testid=conversation]').length === 1")
    assert page.get_by_test_id("conversation").first.inner_text() == "Tell me about zebras"
    page.get_by_test_id("search").fill("no-such-words-anywhere")
    wait_js(page, "document.querySelectorAll('[data-testid=conversation]').length === 0")
    page.get_by_test_id("search").fill("")
    wait_js(page, "document.querySelectorAll('[data-testid=conversation]').length >= 2")
    total = page.get_by_test_id("conversation").count()

    # Export downloads every conversation as JSON.
    with page.expect_download() as download:
        page.get_by_test_id("export").click()
    exported = tmp_path / "export.json"
    download.value.save_as(exported)
    data = json.loads(exported.read_text())
    assert len(data["conversations"]) == total
    assert any(c["title"] == "Tell me about zebras" and c["messages"][0]["content"] == "Tell me about zebras"
               for c in data["conversations"])

    # Delete (after the confirmation), then import the export back.
    page.once("dialog", lambda d: d.accept())
    zebras = page.get_by_test_id("conversation").filter(has_text="Tell me about zebras")
    zebras.hover()  # the delete button shows on hover or focus
    zebras.get_by_test_id("delete-conversation").click()
    wait_js(page, f"document.querySelectorAll('[data-testid=conversation]').length === {total - 1}")
    assert page.get_by_test_id("conversation").filter(has_text="Tell me about zebras").count() == 0
    only_zebras = {"conversations": [c for c in data["conversations"] if c["title"] == "Tell me about zebras"]}
    (tmp_path / "zebras.json").write_text(json.dumps(only_zebras))
    page.get_by_test_id("import-file").set_input_files(str(tmp_path / "zebras.json"))
    wait_js(page, f"document.querySelectorAll('[data-testid=conversation]').length === {total}")
    page.get_by_test_id("conversation").filter(has_text="Tell me about zebras").locator("button.open").click()
    wait_js(page, "document.querySelector('[data-testid=message-user] .bubble')?.textContent === 'Tell me about zebras'")

    # Rename it; the new title is kept on the gateway.
    page.once("dialog", lambda d: d.accept("Zebra facts"))
    page.get_by_test_id("rename").click()
    wait_js(page, "[...document.querySelectorAll('[data-testid=conversation]')].some(li => li.textContent.includes('Zebra facts'))")
    page.reload()
    page.wait_for_selector("body[data-ready=true]")
    assert page.get_by_test_id("conversation").filter(has_text="Zebra facts").count() == 1


def test_a_prompt_too_long_for_the_context_says_what_to_do(page):
    page.get_by_test_id("new-chat").click()
    page.get_by_test_id("chat-input").fill("word " * (2 * HOLD_CONTEXT))  # about twice the backend's context
    page.get_by_test_id("send").click()
    reply = wait_reply_done(page)
    text = reply.get_by_test_id("message-error").inner_text()
    assert "maximum context length" in text and "Start a new chat" in text, text


def test_a_hostile_reply_stays_inert(page, stack):
    hostile = ("Here you go: <script>window.__pwned = 1</script> <img src=x onerror=\"window.__pwned = 2\"> "
               "[click](javascript:window.__pwned=3) **bold**\n\n```python\nprint('<b>hi</b>')\n```")
    conversation = {"title": "<img src=x onerror=\"window.__pwned = 4\">",
                    "messages": [{"role": "user", "content": "<script>window.__pwned = 5</script>"},
                                 {"role": "assistant", "content": hostile}]}
    r = requests.post(stack.url + "/api/conversations/import", headers=stack.headers(),
                      json={"conversations": [conversation]}, timeout=10)
    assert r.status_code == 200, r.text
    page.reload()
    page.wait_for_selector("body[data-ready=true]")
    page.get_by_test_id("conversation").filter(has_text="<img src=x").locator("button.open").click()
    reply = page.get_by_test_id("message-assistant").last
    reply.wait_for()
    time.sleep(0.5)
    assert page.evaluate("window.__pwned") is None
    # Markup from the model shows as text; Markdown still renders.
    text = reply.locator(".bubble").inner_text()
    assert "<script>window.__pwned = 1</script>" in text and "<img src=x" in text
    assert page.locator(".messages img, .messages script, .conversations img").count() == 0
    assert reply.locator("strong").inner_text() == "bold"
    assert reply.locator("a[href^=javascript]").count() == 0
    assert reply.locator("pre code").inner_text().startswith("print('<b>hi</b>')")
    assert page.get_by_test_id("message-user").last.locator(".bubble").inner_text() == "<script>window.__pwned = 5</script>"
    # The copy button sits on the code block.
    assert reply.locator("pre .copy-code").count() == 1


def test_phone_width_and_dark_theme_screenshots(browser, stack):
    for scheme in ("light", "dark"):
        context = keyed_context(browser, viewport={"width": 390, "height": 844}, color_scheme=scheme)
        p = context.new_page()
        p.goto(stack.url + "/")
        p.wait_for_selector("body[data-ready=true]")
        assert p.evaluate("document.documentElement.dataset.effectiveTheme") == scheme
        assert p.get_by_test_id("chat-input").is_visible() and p.get_by_test_id("send").is_visible()
        assert p.get_by_test_id("new-chat").is_hidden()  # the list is behind the ☰ button
        p.locator("#toggle-sidebar").click()
        assert p.get_by_test_id("new-chat").is_visible()
        context.close()
    # The chat at 1366x768 in both themes, with a real reply (code blocks get highlighted).
    for scheme in ("light", "dark"):
        context = keyed_context(browser, viewport={"width": 1366, "height": 768}, color_scheme=scheme)
        p = context.new_page()
        p.goto(stack.url + "/")
        p.wait_for_selector("body[data-ready=true]")
        showcase = p.get_by_test_id("conversation").filter(has_text="Python function")
        if showcase.count():
            showcase.first.locator("button.open").click()
            p.get_by_test_id("message-assistant").first.wait_for()
        else:
            set_max_tokens(p, 160)
            p.get_by_test_id("toggle-settings").click()
            send(p, "Write a Python function that reverses a string, with a short explanation.")
            wait_reply_done(p)
        save_screenshot(p, f"chat-{scheme}")
        context.close()


def test_the_api_checks_input_and_keys(stack):
    url = stack.url + "/api/conversations"
    assert requests.get(url, timeout=10).status_code == 401
    r = requests.post(url, headers=stack.headers(), json={"messages": [{"role": "robot", "content": "x"}]}, timeout=10)
    assert r.status_code == 400 and "messages[0].role" in r.json()["error"]["message"]
    r = requests.post(url, headers=stack.headers(), data="{not json", timeout=10)
    assert r.status_code == 400
    assert requests.get(url + "/no-such-id", headers=stack.headers(), timeout=10).status_code == 404
    assert requests.get(url + "/..%2F..", headers=stack.headers(), timeout=10).status_code == 404
    # An import with one bad conversation stores none.
    before = len(requests.get(url, headers=stack.headers(), timeout=10).json())
    r = requests.post(url + "/import", headers=stack.headers(), timeout=10,
                      json={"conversations": [{"title": "fine"}, {"title": 7}]})
    assert r.status_code == 400 and "conversations[1].title" in r.json()["error"]["message"]
    assert len(requests.get(url, headers=stack.headers(), timeout=10).json()) == before
    # The page itself needs no key; a cross-site page cannot POST.
    assert requests.get(stack.url + "/", timeout=10).status_code == 200
    r = requests.post(url, headers=stack.headers(Origin="http://evil.example"), json={}, timeout=10)
    assert r.status_code == 403
    r = requests.post(url, headers=stack.headers(Origin=stack.url), json={}, timeout=10)
    assert r.status_code == 201


def test_origin_is_not_forwarded_to_the_link(stack):
    """The backend refuses POSTs from origins it does not list; the gateway's own page is one, so the
    gateway must drop Origin (and the browser's other headers) when forwarding."""
    body = {"model": SMOLLM2_ID, "messages": [{"role": "user", "content": "Hi"}], "max_tokens": 2}
    r = requests.post(stack.url + "/v1/chat/completions", timeout=60, json=body,
                      headers=stack.headers(Origin=stack.url, Cookie="session=1", Referer=stack.url + "/"))
    assert r.status_code == 200, r.text
