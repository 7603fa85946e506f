"""The dashboard in Debian's Chromium against a real gateway with two real backends (stories260K),
the primary behind the gateway tests' latency proxy: after some traffic the charts have data, and
slowing the primary past the 200 ms threshold makes a failover that the timeline shows."""

import threading
import time

import pytest
import requests

from conftest import collect_errors, keyed_context, save_screenshot
from gateway_harness import NO_EOS, Backend, Gateway
from latency_proxy import LatencyProxy
from test_chat import wait_js

CHARTS_WITH_TRAFFIC = ["requests", "latency", "tokens", "queue", "kv", "memory", "network", "rtt"]


@pytest.fixture(scope="module")
def system(module_tmp):
    primary = Backend(module_tmp, "primary")
    backup = Backend(module_tmp, "backup")
    proxy = LatencyProxy(primary.port)
    gateway = Gateway(module_tmp, [("primary", f"http://127.0.0.1:{proxy.port}"), ("backup", backup.url)],
                      failover={"min_hold_seconds": 600})
    yield gateway, proxy
    gateway.stop()
    proxy.close()
    primary.stop()
    backup.stop()


def traffic(gateway, seconds: float):
    """Completions through the gateway from two threads for `seconds`."""
    stop = time.monotonic() + seconds

    def worker():
        while time.monotonic() < stop:
            r = gateway.complete(max_tokens=24, logit_bias=NO_EOS)
            assert r.status_code == 200, r.text

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    return threads


def open_dashboard(browser, gateway, scheme="light"):
    context = keyed_context(browser, viewport={"width": 1366, "height": 900}, color_scheme=scheme)
    page = collect_errors(context.new_page())
    page.timeseries_urls = []
    page.on("request", lambda r: "/api/timeseries" in r.url and page.timeseries_urls.append(r.url))
    start = time.monotonic()
    page.goto(gateway.url + "/dashboard")
    page.get_by_test_id("dashboard").wait_for()
    wait_js(page, "document.body.dataset.updated !== undefined", timeout=15000)
    page.load_seconds = time.monotonic() - start
    return context, page


def points(page, name: str) -> int:
    return int(page.get_by_test_id(f"chart-{name}").get_attribute("data-points"))


def test_charts_fill_with_traffic_and_a_failover_shows_on_the_timeline(browser, system):
    gateway, proxy = system
    threads = traffic(gateway, 8)
    context, page = open_dashboard(browser, gateway)
    paint = page.evaluate("""() => { const e = performance.getEntriesByType('paint')
                                .find(x => x.name === 'first-contentful-paint'); return e ? e.startTime : null; }""")
    own = sum(len(requests.get(gateway.url + p, timeout=10).content) for p in
              ["/dashboard", "/ui/app.css", "/ui/dashboard.js", "/ui/api.js", "/ui/settings.js"])
    print(f"\n[ui] dashboard: own HTML/CSS/JS {own / 1024:.1f} KiB (+ Chart.js "
          f"{len(requests.get(gateway.url + '/lib/chart.min.js', timeout=10).content) / 1024:.0f} KiB), "
          f"first contentful paint {paint:.0f} ms, first data in {page.load_seconds:.2f} s")
    for t in threads:
        t.join()
    # Every chart that this host and traffic can feed has points; the rest say they are not reported.
    for name in CHARTS_WITH_TRAFFIC:
        wait_js(page, f"Number(document.querySelector('[data-testid=chart-{name}]').dataset.points) > 0",
                timeout=30000)
    assert page.get_by_test_id("link-state-primary").inner_text() == "healthy"
    assert page.get_by_test_id("mode").inner_text().startswith("normal")
    # The range was fetched whole (again while the young gateway had no point yet); from then on
    # every poll asked only for the points after the last answer.
    urls = list(page.timeseries_urls)
    assert "since=" not in urls[0], urls
    partial = [i for i, u in enumerate(urls) if "since=" in u]
    assert len(partial) >= 2 and all("since=" in u for u in urls[partial[0]:]), urls
    # What the page put together from those answers is what one whole answer has, point for point.
    shown = page.evaluate("""() => Chart.getChart(document.querySelector('[data-testid=chart-requests] canvas'))
                             .data.datasets.find(d => d.label === 'requests per s').data""")
    whole = requests.get(gateway.url + "/api/timeseries", headers=gateway.headers(), timeout=10).json()
    values = whole["series"]["requests_per_s"]
    first = whole["end"] - (len(values) - 1) * whole["step"]
    by_time = {first + i * whole["step"]: v for i, v in enumerate(values)}
    compared = [(p["x"], p["y"], by_time[p["x"]]) for p in shown if p["x"] in by_time]
    assert len(compared) > 5 and all(y == v for _, y, v in compared), compared
    # The canvas has been drawn on (not blank).
    drawn = page.evaluate("""() => { const c = document.querySelector('[data-testid=chart-rtt] canvas');
        const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        let n = 0; for (let i = 3; i < d.length; i += 4) if (d[i] > 0) n++; return n; }""")
    assert drawn > 100

    # Slow the primary past the threshold: the gateway fails over and the timeline says so.
    proxy.set_delay(400)
    deadline = time.monotonic() + 30
    while gateway.links()["active"] != "backup":
        assert time.monotonic() < deadline, f"no failover: {gateway.links()}"
        time.sleep(0.1)
    wait_js(page, """[...document.querySelectorAll('[data-testid=timeline-event]')]
                     .some(li => li.textContent.includes('primary → backup'))""", timeout=15000)
    wait_js(page, "document.querySelector('[data-testid=link-state-primary]').textContent !== 'healthy'",
            timeout=15000)
    assert page.get_by_test_id("mode").inner_text().startswith("failover")
    # The primary's strip on the timeline has slow or down cells now.
    # (sampled once a second, so it may trail the live state by a refresh)
    wait_js(page, "document.querySelectorAll('.timeline-bar .strip .s1, .timeline-bar .strip .s2').length > 0",
            timeout=10000)
    # The RTT chart carries the threshold line.
    labels = page.evaluate("""() => Chart.getChart(document.querySelector('[data-testid=chart-rtt] canvas'))
                              .data.datasets.map(d => d.label)""")
    assert "threshold 200 ms" in labels and "primary" in labels
    # The gateway's monitoring (issue 13) fires link_slow on the slowed link; the list shows it.
    wait_js(page, """[...document.querySelectorAll('[data-testid=alert]')]
                     .some(li => li.textContent.includes('link_slow'))""", timeout=20000)
    save_screenshot(page, "dashboard-light", full_page=True)
    # The 24 h view answers too (its first minute may still be open).
    page.get_by_test_id("range-24h").click()
    wait_js(page, "document.querySelector('[data-testid=range-24h]').getAttribute('aria-pressed') === 'true'")
    time.sleep(2.5)
    assert page.locator("#notice").is_hidden()
    day = [u for u in page.timeseries_urls if "range=24h" in u]
    assert day and "since=" not in day[0], day  # a new range starts with the whole of it
    assert not page.console_errors, page.console_errors
    context.close()

    context, page = open_dashboard(browser, gateway, "dark")
    wait_js(page, "Number(document.querySelector('[data-testid=chart-rtt]').dataset.points) > 0", timeout=15000)
    assert page.evaluate("document.documentElement.dataset.effectiveTheme") == "dark"
    save_screenshot(page, "dashboard-dark", full_page=True)
    assert not page.console_errors, page.console_errors
    context.close()


def test_timeseries_api(system):
    gateway, _ = system
    r = requests.get(gateway.url + "/api/timeseries", headers=gateway.headers(), timeout=10)
    assert r.status_code == 200
    body = r.json()
    assert body["step"] == 1 and body["latency_threshold_ms"] == 200
    assert {l["name"] for l in body["links"]} == {"primary", "backup"}
    assert "rtt_ms.backup" in body["series"]
    assert requests.get(gateway.url + "/api/timeseries", timeout=10).status_code == 401
    r = requests.get(gateway.url + "/api/timeseries?range=1y", headers=gateway.headers(), timeout=10)
    assert r.status_code == 400 and "range" in r.json()["error"]["message"]
    # since: only the points after an earlier answer's end (every series as long as the others).
    end = body["end"]
    time.sleep(1.5)
    later = requests.get(gateway.url + f"/api/timeseries?since={end}", headers=gateway.headers(), timeout=10).json()
    lengths = {len(v) for v in later["series"].values()}
    assert len(lengths) == 1 and 0 < lengths.pop() <= later["end"] - end, later
    for bad in ("abc", "-5", "1.5"):
        r = requests.get(gateway.url + f"/api/timeseries?since={bad}", headers=gateway.headers(), timeout=10)
        assert r.status_code == 400 and "since" in r.json()["error"]["message"], r.text
