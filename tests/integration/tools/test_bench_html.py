"""The --html report opened in Chromium (playwright, Debian's /usr/bin/chromium): both charts are
drawn, nothing is fetched from the network, and a screenshot lands in the test output folder."""

from pathlib import Path

import pytest

from bench_runner import run_bench
from gateway_harness import BACKEND_KEY

CHROMIUM = Path("/usr/bin/chromium")

# Counts the canvas pixels that are not transparent: an undrawn canvas has none.
DRAWN_PIXELS = """id => {
  const c = document.getElementById(id);
  const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
  let n = 0;
  for (let i = 3; i < d.length; i += 4) if (d[i] !== 0) n++;
  return n;
}"""


def test_html_report_draws_its_charts_in_chromium(make_backend, tmp_path, output_dir):
    sync_api = pytest.importorskip("playwright.sync_api", reason="pip install playwright (scripts/requirements.txt)")
    if not CHROMIUM.exists():
        pytest.fail("/usr/bin/chromium is missing; scripts/setup.sh installs Debian's chromium")
    backend = make_backend()
    html = output_dir / "bench.html"
    run_bench(backend.url, tmp_path, concurrency="1,2,4", requests=8, api_key=BACKEND_KEY, extra=["--html", str(html)])
    text = html.read_text()
    assert "Chart.js v" in text  # the library is inlined
    assert "<script src" not in text

    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM))
        try:
            page = browser.new_page(viewport={"width": 1000, "height": 1400})
            fetched = []
            page.on("request", lambda r: fetched.append(r.url) if not r.url.startswith("file:") else None)
            errors = []
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto(html.as_uri())
            page.wait_for_selector("body[data-charts-ready='true']", timeout=15000)
            assert errors == []
            for canvas in ("latency-chart", "throughput-chart"):
                drawn = page.evaluate(DRAWN_PIXELS, canvas)
                assert drawn > 2000, f"{canvas} has only {drawn} drawn pixels"
            rows = page.locator("[data-testid=levels] tr").count()
            assert rows == 4  # header + three levels
            page.screenshot(path=str(output_dir / "bench-report.png"), full_page=True)
            assert fetched == []  # self-contained
        finally:
            browser.close()
    assert (output_dir / "bench-report.png").stat().st_size > 10000
