"""The dashboard's numbers in Debian's Chromium: web/format.js unit-tested inside the page, and every
chart's y-axis tick labels (read through Chart.js) at tiny, zero and large values, served to the page
in place of the gateway's /api/timeseries so that each scale is exact. Labels that rounded each tick
on its own read "0%, 0%, 0%" for a KV cache under 1% and "1 B, 1 B, 0 B" for a quiet network."""

import json
import time

import pytest

from conftest import collect_errors, keyed_context, save_screenshot
from gateway_harness import Backend, Gateway
from test_chat import wait_js

CHARTS = ["requests", "latency", "tokens", "queue", "kv", "memory", "network", "temperature", "power", "rtt"]
POINTS = 120


@pytest.fixture(scope="module")
def gateway(module_tmp):
    backend = Backend(module_tmp, "primary")
    gateway = Gateway(module_tmp, [("primary", backend.url)])
    yield gateway
    gateway.stop()
    backend.stop()


def open_page(browser, gateway, path="/dashboard", width=1366, answer=None):
    """The page at `path`; with `answer`, every /api/timeseries request gets it instead of the gateway's."""
    context = keyed_context(browser, viewport={"width": width, "height": 900})
    page = collect_errors(context.new_page())
    if answer is not None:
        page.route("**/api/timeseries*", lambda route: route.fulfill(
            status=200, content_type="application/json", body=json.dumps(answer)))
    page.goto(gateway.url + path)
    return context, page


def ramp(low: float, high: float) -> list[float]:
    return [low + (high - low) * i / (POINTS - 1) for i in range(POINTS)]


def answer_with(values: dict[str, list[float]]) -> dict:
    """A /api/timeseries answer (15 min range, 1 s points) carrying `values`, one healthy link."""
    return {"range": "15m", "step": 1, "end": int(time.time()), "latency_threshold_ms": 200,
            "mode": "normal", "active": "primary", "events": [],
            "links": [{"name": "primary", "state": "healthy", "reason": ""}],
            "series": {"state.primary": [0] * POINTS, **values}}


# Each scale: a low and a high value for every series, so every chart has an axis at that scale.
SCALES = {
    "tiny": {"requests_per_s": (0, 0.03), "errors_per_s": (0, 0.01), "ttft_p50_ms": (0.1, 0.4),
             "ttft_p95_ms": (0.2, 0.7), "e2e_p50_ms": (0.3, 0.8), "e2e_p95_ms": (0.4, 0.9),
             "tokens_per_s": (0, 0.4), "running": (0, 1), "queued": (0, 0), "kv_cache_ratio": (0.001, 0.0083),
             "memory_bytes.primary": (100, 1300), "net_rx_bytes_per_s": (0, 1.3), "net_tx_bytes_per_s": (0, 0.6),
             "temperature_c.gpu0": (0, 0.5), "power_w.gpu0": (0, 0.2), "rtt_ms.primary": (0.05, 0.3)},
    "zero": {name: (0, 0) for name in ["requests_per_s", "errors_per_s", "ttft_p50_ms", "ttft_p95_ms", "e2e_p50_ms",
                                       "e2e_p95_ms", "tokens_per_s", "running", "queued", "kv_cache_ratio",
                                       "memory_bytes.primary", "net_rx_bytes_per_s", "net_tx_bytes_per_s",
                                       "temperature_c.gpu0", "power_w.gpu0", "rtt_ms.primary"]},
    "large": {"requests_per_s": (100, 2500), "errors_per_s": (0, 40), "ttft_p50_ms": (200, 9000),
              "ttft_p95_ms": (300, 25000), "e2e_p50_ms": (1000, 60000), "e2e_p95_ms": (2000, 95000),
              "tokens_per_s": (1000, 52000), "running": (10, 250), "queued": (0, 900), "kv_cache_ratio": (0.2, 0.97),
              "memory_bytes.primary": (3e9, 78e9), "net_rx_bytes_per_s": (1e6, 2.4e9),
              "net_tx_bytes_per_s": (1e5, 1.1e9), "temperature_c.gpu0": (35, 84), "power_w.gpu0": (60, 690),
              "rtt_ms.primary": (0.5, 180)},
}


def ticks(page, axis: str) -> dict[str, list[dict]]:
    """Each chart's ticks on `axis` as Chart.js laid them out: {value, label}."""
    return page.evaluate("""([names, axis]) => Object.fromEntries(names.map((n) => {
        const chart = Chart.getChart(document.querySelector(`[data-testid=chart-${n}] canvas`));
        return [n, chart.scales[axis].ticks.map((t) => ({ value: t.value, label: t.label }))];
    }))""", [CHARTS, axis])


@pytest.mark.parametrize("scale", list(SCALES))
def test_every_chart_reads_distinct_tick_labels(browser, gateway, scale):
    answer = answer_with({name: ramp(*bounds) for name, bounds in SCALES[scale].items()})
    context, page = open_page(browser, gateway, answer=answer)
    for name in CHARTS:
        wait_js(page, f"Number(document.querySelector('[data-testid=chart-{name}]').dataset.points) > 0",
                timeout=15000)
    y = ticks(page, "y")
    labels = {n: [t["label"] for t in ts] for n, ts in y.items()}
    print(f"\n[ui] {scale}: " + "; ".join(f"{n} {', '.join(ls)}" for n, ls in labels.items()))
    for name, ls in labels.items():
        assert len(ls) >= 2, (name, ls)
        assert len(set(ls)) == len(ls), f"chart {name} repeats a tick label at the {scale} scale: {ls}"
        assert all(label.strip() for label in ls), (name, ls)
    if scale == "tiny":
        assert labels["kv"] != ["0%"] * len(labels["kv"]) and any("." in label for label in labels["kv"]), labels["kv"]
        assert all(label.endswith(" B/s") for label in labels["network"]), labels["network"]
        assert all(label.endswith(" ms") for label in labels["latency"]), labels["latency"]
    if scale == "large":
        assert any(label.endswith(" GB/s") for label in labels["network"]), labels["network"]
        assert any(label.endswith(" GB") for label in labels["memory"]), labels["memory"]
        assert any(label.endswith(" s") for label in labels["latency"]), labels["latency"]
    # Running and queued requests are counts: no tick between two whole numbers.
    assert all(t["value"] == int(t["value"]) for t in y["queue"]), y["queue"]
    # The time axis: from the first point to the last, ticks on whole minutes (the answer spans
    # two), each read differently.
    first, last = answer["end"] - (POINTS - 1), answer["end"]
    for name, ts in ticks(page, "x").items():
        assert ts and all(first <= t["value"] <= last and t["value"] % 60 == 0 for t in ts), (name, ts)
        assert len({t["label"] for t in ts}) == len(ts), (name, ts)
    save_screenshot(page, f"dashboard-ticks-{scale}", full_page=True)
    assert not page.console_errors, page.console_errors
    context.close()


def test_format_module(browser, gateway):
    context, page = open_page(browser, gateway, answer=answer_with({}))
    got = page.evaluate("""async () => {
        const f = await import('/ui/format.js');
        const together = [
            ['percent', [0, 0.002, 0.004, 0.006, 0.008]], ['percent', [0, 0.00002, 0.00004]], ['percent', [0, 0.5, 1]],
            ['bytesPerSecond', [0, 0.5, 1, 1.5]], ['bytesPerSecond', [0, 0.2, 0.4, 0.6000000000000001]],
            ['bytesPerSecond', [0, 500, 1000, 1500]], ['bytesPerSecond', [0, 5e8, 1e9, 1.5e9, 2e9, 2.5e9]],
            ['bytes', [0, 2e10, 4e10, 6e10, 8e10]], ['ms', [0, 0.1, 0.2, 0.30000000000000004]],
            ['ms', [0, 500, 1000, 1500]], ['number', [0, 2500, 5000, 7500]], ['number', [0, 0.05, 0.1, 0.15]],
            ['number', [0]], ['number', [-0.2, 0, 0.2]], ['percent', [0.3]],
        ].map(([unit, ticks]) => f.formatTogether(unit, ticks));
        const single = [
            ['percent', 0.00234], ['percent', 1], ['bytes', 999.7], ['bytesPerSecond', 0], ['bytesPerSecond', 0.25],
            ['bytesPerSecond', 1234567], ['ms', 0.35], ['ms', 250], ['ms', 12345], ['number', 1234567],
            ['number', 0.000123], ['number', null], ['number', NaN],
        ].map(([unit, v]) => f.formatValue(unit, v));
        // 12:00:00 UTC on a day: whole minutes, so whole hours in every time zone but a few.
        const noon = 1767268800;
        const clock = [
            f.clockTicks(noon + 5, noon + 125, 6).map((t) => t.value - noon),
            f.clockTicks(noon + 5, noon + 15 * 60, 6).map((t) => t.value - noon),
            f.clockTicks(noon - 86400, noon, 6).map((t) => t.value - noon),
            f.clockTicks(noon, noon, 6).map((t) => t.value - noon),
        ];
        const minutes = f.formatClockTogether([noon, noon + 60]);
        const seconds = f.formatClockTogether([noon, noon + 30]);
        let unknown = null;
        try { f.formatValue('furlongs', 1); } catch (e) { unknown = e.message; }
        return { together, single, clock, minutes, seconds, unknown };
    }""")
    assert got["together"] == [
        ["0%", "0.2%", "0.4%", "0.6%", "0.8%"], ["0%", "0.002%", "0.004%"], ["0%", "50%", "100%"],
        ["0 B/s", "0.5 B/s", "1 B/s", "1.5 B/s"], ["0 B/s", "0.2 B/s", "0.4 B/s", "0.6 B/s"],
        ["0 kB/s", "0.5 kB/s", "1 kB/s", "1.5 kB/s"],
        ["0 GB/s", "0.5 GB/s", "1 GB/s", "1.5 GB/s", "2 GB/s", "2.5 GB/s"],
        ["0 GB", "20 GB", "40 GB", "60 GB", "80 GB"], ["0 ms", "0.1 ms", "0.2 ms", "0.3 ms"],
        ["0 s", "0.5 s", "1 s", "1.5 s"], ["0", "2.5k", "5k", "7.5k"], ["0", "0.05", "0.1", "0.15"],
        ["0"], ["-0.2", "0", "0.2"], ["30%"],
    ]
    assert got["single"] == ["0.234%", "100%", "1 kB", "0 B/s", "0.25 B/s", "1.23 MB/s", "0.35 ms", "250 ms",
                             "12.3 s", "1.23M", "0.000123", "–", "–"]
    # Time axes: ticks on round steps inside the span, at most the count asked for.
    assert got["clock"] == [[30, 60, 90, 120], [180, 360, 540, 720, 900], [-86400, -64800, -43200, -21600, 0], [0]]
    # Clock labels carry seconds only when a tick is off the minute, and always differ.
    assert got["minutes"][0].count(":") == 1 and len(set(got["minutes"])) == 2, got["minutes"]
    assert got["seconds"][0].count(":") == 2 and len(set(got["seconds"])) == 2, got["seconds"]
    assert "furlongs" in got["unknown"]
    context.close()
