"""The chat page and the dashboard at a phone's width (390 px) in Debian's Chromium against a real
gateway and backend (stories260K): nothing wider than the screen, empty states that say so, and a
conversation drawer that closes again (it covers its own ☰ button)."""


import pytest

from conftest import collect_errors, keyed_context, save_screenshot
from gateway_harness import Backend, Gateway
from test_chat import wait_js

PHONE = {"width": 390, "height": 844}


@pytest.fixture(scope="module")
def gateway(module_tmp):
    backend = Backend(module_tmp, "primary")
    gateway = Gateway(module_tmp, [("primary", backend.url)],
                      extra={"history": {"path": str(module_tmp / "history.sqlite")}})
    yield gateway
    gateway.stop()
    backend.stop()


@pytest.fixture
def phone(browser, gateway):
    context = keyed_context(browser, viewport=PHONE)
    page = collect_errors(context.new_page(), console=False)
    yield page
    context.close()
    assert not page.console_errors, page.console_errors


def overflow(page) -> int:
    """How many pixels the page is wider than the screen (it should scroll only down)."""
    return page.evaluate("document.documentElement.scrollWidth - window.innerWidth")


def empty_text(page, selector: str) -> str:
    return page.evaluate(f"getComputedStyle(document.querySelector('{selector}'), '::before').content")


def test_chat_at_phone_width(phone, gateway):
    phone.goto(gateway.url + "/")
    phone.wait_for_selector("body[data-ready=true]", timeout=20000)
    assert overflow(phone) <= 0
    # A new chat and an empty history say what to do rather than showing a blank page.
    assert "Send a message" in empty_text(phone, "#messages")
    assert "No conversations yet" in empty_text(phone, "#conversations")
    save_screenshot(phone, "chat-phone-empty")

    toggle = phone.locator("#toggle-sidebar")
    new_chat = phone.get_by_test_id("new-chat")
    # The drawer opens over the chat, then closes on a tap on the chat beside it ...
    toggle.click()
    assert new_chat.is_visible() and toggle.get_attribute("aria-expanded") == "true"
    save_screenshot(phone, "chat-phone-drawer")
    phone.mouse.click(PHONE["width"] - 20, PHONE["height"] // 2)
    assert new_chat.is_hidden() and toggle.get_attribute("aria-expanded") == "false"
    # ... on Esc ...
    toggle.click()
    assert new_chat.is_visible()
    phone.keyboard.press("Escape")
    assert new_chat.is_hidden()
    # ... and when a new chat is started from it.
    toggle.click()
    new_chat.click()
    assert new_chat.is_hidden()
    # A search that finds nothing says so.
    toggle.click()
    phone.get_by_test_id("search").fill("no such conversation anywhere")
    wait_js(phone, "getComputedStyle(document.querySelector('#conversations'), '::before').content"
                   ".includes('No conversation matches')", timeout=10000)


def test_dashboard_at_phone_width(phone, gateway):
    phone.goto(gateway.url + "/dashboard")
    phone.get_by_test_id("dashboard").wait_for()
    wait_js(phone, "Number(document.querySelector('[data-testid=chart-rtt]').dataset.points) > 0", timeout=15000)
    assert overflow(phone) <= 0
    # The time axis keeps its clock labels about 100 px apart on a narrow chart.
    widths = phone.evaluate("""() => { const s = Chart.getChart(document.querySelector('[data-testid=chart-rtt] canvas')).scales.x;
                                        return { width: s.width, ticks: s.ticks.length }; }""")
    assert 1 <= widths["ticks"] <= max(2, widths["width"] // 100), widths
    # An empty alert list is a plain message, not a bulleted item.
    wait_js(phone, "document.querySelector('#alerts li') !== null", timeout=10000)
    empty = phone.locator("#alerts li.empty")
    assert empty.count() == 1 and "alert" in empty.inner_text(), phone.locator("#alerts").inner_text()
    assert phone.evaluate("getComputedStyle(document.querySelector('#alerts li.empty')).listStyleType") == "none"
    save_screenshot(phone, "dashboard-phone", full_page=True)
