"""A reply cut by a failover, in the browser: the primary backend is killed (SIGKILL) while it
streams; the page says the answer was cut and offers Regenerate, which the backup then serves.
With every backend gone, the error is shown in place with what to do."""

import pytest

from conftest import keyed_context
from gateway_harness import SMOLLM2, Backend, Gateway
from test_chat import (HOLD_CONTEXT, HOLD_MAX_TOKENS, LONG_PROMPT, replies_cannot_end_early, send, set_max_tokens,
                       wait_js, wait_reply_done)


@pytest.fixture
def pair_stack(tmp_path):
    primary = Backend(tmp_path, "primary", model=SMOLLM2, max_batch_size=2, context=HOLD_CONTEXT)
    backup = Backend(tmp_path, "backup", model=SMOLLM2, max_batch_size=2, context=HOLD_CONTEXT)
    gateway = Gateway(tmp_path, [("primary", primary.url), ("backup", backup.url)])
    yield gateway, primary, backup
    gateway.stop()
    primary.stop()
    backup.stop()


def test_a_cut_stream_says_so_and_regenerate_uses_the_backup(browser, pair_stack):
    gateway, primary, backup = pair_stack
    context = keyed_context(browser, viewport={"width": 1366, "height": 768})
    page = context.new_page()
    page.goto(gateway.url + "/")
    page.wait_for_selector("body[data-ready=true]", timeout=20000)
    # The reply is still streaming when the primary is killed, however fast the engine.
    replies_cannot_end_early(page)
    set_max_tokens(page, HOLD_MAX_TOKENS)
    send(page, LONG_PROMPT)
    wait_js(page, """() => { const m = document.querySelector('.message.assistant.streaming .bubble');
                        return m && m.textContent.length > 20; }""", timeout=60000)
    primary.kill9()
    reply = wait_reply_done(page, timeout=30000)
    error = reply.get_by_test_id("message-error")
    assert "cut" in error.inner_text() and "Regenerate" in error.inner_text(), reply.inner_text()
    assert len(reply.locator(".bubble").inner_text()) >= 10  # the text so far is kept
    set_max_tokens(page, 12)
    page.get_by_test_id("regenerate").click()
    reply = wait_reply_done(page, timeout=60000)
    assert reply.get_by_test_id("message-error").count() == 0, reply.inner_text()
    assert "via backup" in reply.get_by_test_id("message-stats").inner_text()

    # Every link down: the error is in place and says what to do.
    backup.kill9()
    send(page, "Are you there?")
    reply = wait_reply_done(page, timeout=30000)
    text = reply.get_by_test_id("message-error").inner_text()
    assert "No backend can answer now" in text and "retry" in text, text
    context.close()
