// The dashboard page: live charts (Chart.js) from the gateway's own time series
// (GET /api/timeseries: 1 s points for 15 min, 1 min points for 24 h), the links' states, a
// timeline of link states and switch events, and the monitoring alerts when the gateway has them.
// The browser never scrapes a backend.
import * as api from './api.js';
import { setupTheme } from './settings.js';

const { Chart } = window;
const REFRESH_MS = 2000;

// chart-<name>: title, unit, and which series (exact names, or a prefix ending in "." for one per link).
const CHARTS = [
  { name: 'requests', title: 'Requests / s', series: ['requests_per_s', 'errors_per_s'] },
  { name: 'latency', title: 'Latency (ms): TTFT and end to end, p50 / p95',
    series: ['ttft_p50_ms', 'ttft_p95_ms', 'e2e_p50_ms', 'e2e_p95_ms'] },
  { name: 'tokens', title: 'Generated tokens / s', series: ['tokens_per_s'] },
  { name: 'queue', title: 'Running and queued requests', series: ['running', 'queued'] },
  { name: 'kv', title: 'KV cache use', series: ['kv_cache_ratio'], percent: true },
  { name: 'memory', title: 'Memory (GPU where there is one, else host)', series: ['memory_bytes.'], bytes: true },
  { name: 'network', title: 'Network (bytes / s)', series: ['net_rx_bytes_per_s', 'net_tx_bytes_per_s'], bytes: true },
  { name: 'temperature', title: 'Temperature (°C)', series: ['temperature_c.'] },
  { name: 'power', title: 'Power (W)', series: ['power_w.'] },
  { name: 'rtt', title: 'Link probe round trip (ms)', series: ['rtt_ms.'], threshold: true },
];
const PALETTE = ['#2f6fde', '#e8710a', '#1e8e3e', '#d93025', '#9334e6', '#12b5cb', '#f9ab00', '#5f6368'];

let range = '15m';
const charts = new Map();
const notice = document.getElementById('notice');

function cssVar(name) { return getComputedStyle(document.documentElement).getPropertyValue(name).trim(); }

function fmtBytes(v) {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (Math.abs(v) >= 1024 && i < units.length - 1) { v /= 1024; i += 1; }
  return `${v.toFixed(v < 10 && i ? 1 : 0)} ${units[i]}`;
}

function fmtTime(unixSeconds) {
  const d = new Date(unixSeconds * 1000);
  return range === '24h' ? d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' })
                         : d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit' });
}

function makeChart(spec) {
  const box = document.createElement('div');
  box.className = 'chart';
  box.setAttribute('data-testid', `chart-${spec.name}`);
  box.dataset.points = '0';
  const h2 = document.createElement('h2');
  h2.textContent = spec.title;
  const canvasBox = document.createElement('div');
  canvasBox.className = 'canvas-box';
  const canvas = document.createElement('canvas');
  canvas.setAttribute('role', 'img');
  canvas.setAttribute('aria-label', spec.title);
  canvasBox.appendChild(canvas);
  const absent = document.createElement('p');
  absent.className = 'absent';
  absent.textContent = 'Not reported by the links yet.';
  absent.hidden = true;
  box.append(h2, canvasBox, absent);
  document.getElementById('charts').appendChild(box);
  const chart = new Chart(canvas, {
    type: 'line',
    data: { datasets: [] },
    options: {
      animation: false,
      responsive: true,
      maintainAspectRatio: false,
      parsing: false,
      normalized: true,
      spanGaps: false,
      interaction: { mode: 'nearest', axis: 'x', intersect: false },
      elements: { point: { radius: 0 }, line: { borderWidth: 1.5, tension: 0.2 } },
      scales: {
        x: { type: 'linear', ticks: { maxTicksLimit: 6, callback: (v) => fmtTime(v) } },
        y: { beginAtZero: true, ticks: { maxTicksLimit: 5,
          callback: (v) => (spec.bytes ? fmtBytes(v) : spec.percent ? `${Math.round(v * 100)}%` : v) } },
      },
      plugins: { legend: { labels: { boxWidth: 10 } }, tooltip: { callbacks: { title: (items) => fmtTime(items[0].parsed.x) } } },
    },
  });
  charts.set(spec.name, { spec, chart, box, absent, canvasBox });
}

function themeCharts() {
  const fg = cssVar('--fg-soft');
  const grid = cssVar('--border');
  for (const { chart } of charts.values()) {
    for (const axis of Object.values(chart.options.scales)) {
      axis.ticks.color = fg;
      axis.grid = { color: grid };
    }
    chart.options.plugins.legend.labels.color = fg;
    chart.update('none');
  }
}

function seriesFor(spec, all) {
  const names = [];
  for (const s of spec.series) {
    if (s.endsWith('.')) names.push(...Object.keys(all).filter((n) => n.startsWith(s)).sort());
    else if (all[s]) names.push(s);
  }
  return names;
}

function updateCharts(data) {
  const step = data.step;
  for (const { spec, chart, box, absent, canvasBox } of charts.values()) {
    const names = seriesFor(spec, data.series);
    let points = 0;
    const datasets = names.map((name, i) => {
      const values = data.series[name];
      const first = data.end - (values.length - 1) * step;
      const pts = values.map((y, j) => ({ x: first + j * step, y }));
      points += values.filter((v) => v !== null).length;
      const label = name.includes('.') ? name.slice(name.indexOf('.') + 1) : name.replace(/_/g, ' ');
      return { label, data: pts, borderColor: PALETTE[i % PALETTE.length], backgroundColor: PALETTE[i % PALETTE.length] };
    });
    const xs = datasets.length ? datasets[0].data : [];
    if (spec.threshold && xs.length) {
      const t = data.latency_threshold_ms;
      datasets.push({ label: `threshold ${t} ms`, data: [{ x: xs[0].x, y: t }, { x: xs[xs.length - 1].x, y: t }],
                      borderColor: cssVar('--danger'), borderDash: [6, 4], borderWidth: 1 });
    }
    chart.data.datasets = datasets;
    chart.update('none');
    box.dataset.points = String(points);
    absent.hidden = names.length > 0;
    canvasBox.hidden = names.length === 0;  // no empty axes for what this system does not report
  }
}

function updateLinks(data) {
  const mode = document.getElementById('mode');
  mode.textContent = `${data.mode}${data.active ? ` · serving from ${data.active}` : ' · no link can serve'}`;
  mode.className = `mode ${data.mode}`;
  const cards = data.links.map((l) => {
    const card = document.createElement('div');
    card.className = 'link-card';
    card.setAttribute('data-testid', 'link-card');
    const name = document.createElement('strong');
    name.textContent = `${l.name} `;
    const state = document.createElement('span');
    state.className = `state ${l.state}`;
    state.setAttribute('data-testid', `link-state-${l.name}`);
    state.textContent = l.state;
    card.append(name, state);
    if (l.reason) { const why = document.createElement('div'); why.textContent = l.reason; card.appendChild(why); }
    return card;
  });
  document.getElementById('links').replaceChildren(...cards);
}

function updateTimeline(data) {
  // One strip per link: its state over the range, 180 cells, the worst state in each.
  const bars = data.links.map((l) => {
    const values = data.series[`state.${l.name}`] || [];
    const row = document.createElement('div');
    row.className = 'timeline-bar';
    const label = document.createElement('span');
    label.textContent = l.name;
    const strip = document.createElement('div');
    strip.className = 'strip';
    strip.setAttribute('aria-label', `${l.name} state over time`);
    const cells = 180;
    const per = Math.max(1, Math.ceil(values.length / cells));
    for (let i = 0; i < values.length; i += per) {
      const chunk = values.slice(i, i + per).filter((v) => v !== null);
      const cell = document.createElement('span');
      if (chunk.length) cell.className = `s${Math.round(Math.max(...chunk))}`;
      strip.appendChild(cell);
    }
    row.append(label, strip);
    return row;
  });
  document.getElementById('timeline-bars').replaceChildren(...bars);
  const items = [...data.events].reverse().map((e) => {
    const li = document.createElement('li');
    li.setAttribute('data-testid', 'timeline-event');
    const when = new Date(e.time).toLocaleTimeString();
    li.textContent = `${when}: ${e.from || 'none'} → ${e.to || 'none'} (${e.reason})`;
    return li;
  });
  if (!items.length) {
    const li = document.createElement('li');
    li.textContent = 'No switches yet.';
    items.push(li);
  }
  document.getElementById('timeline').replaceChildren(...items);
}

function updateAlerts(body) {
  const list = document.getElementById('alerts');
  if (!body) {
    const li = document.createElement('li');
    li.textContent = 'This gateway has no alert rules (monitoring is off).';
    list.replaceChildren(li);
    return;
  }
  const records = body.history || [];
  const items = records.slice(0, 50).map((a) => {
    const li = document.createElement('li');
    li.setAttribute('data-testid', 'alert');
    li.className = a.state === 'firing' ? 'error' : '';
    const since = a.started_at ? new Date(a.started_at * 1000).toLocaleTimeString() : '';
    li.textContent = `${a.state === 'firing' ? 'FIRING' : 'resolved'} ${a.rule}: ${a.metric} = ${Number(a.value).toPrecision(3)} ` +
                     `(${a.above !== undefined ? `above ${a.above}` : `below ${a.below}`}) since ${since}`;
    return li;
  });
  if (!items.length) {
    const li = document.createElement('li');
    li.textContent = `No alerts (${(body.rules || []).length} rules watching).`;
    items.push(li);
  }
  list.replaceChildren(...items);
}

async function refresh() {
  try {
    const data = await api.timeseries(range);
    updateCharts(data);
    updateLinks(data);
    updateTimeline(data);
    notice.hidden = true;
    document.body.dataset.updated = String(Date.now());
  } catch (e) {
    notice.textContent = `Cannot read the gateway's time series: ${e.message}. Retrying every ${REFRESH_MS / 1000} s.`;
    notice.hidden = false;
  }
  try { updateAlerts(await api.alerts()); } catch (_) { /* shown as stale; the series error says enough */ }
}

function setRange(r) {
  range = r;
  document.getElementById('range-15m').setAttribute('aria-pressed', String(r === '15m'));
  document.getElementById('range-24h').setAttribute('aria-pressed', String(r === '24h'));
  refresh();
}

function start() {
  setupTheme();
  api.setUnauthorizedHandler(async () => {
    const key = window.prompt('This gateway needs an API key (kept in this browser):');
    if (key) api.setKey(key.trim());
  });
  if (!Chart) {
    notice.textContent = 'Chart.js did not load (the gateway was built without libjs-chart.js).';
    notice.hidden = false;
    return;
  }
  for (const spec of CHARTS) makeChart(spec);
  themeCharts();
  document.addEventListener('themechange', themeCharts);
  document.getElementById('range-15m').addEventListener('click', () => setRange('15m'));
  document.getElementById('range-24h').addEventListener('click', () => setRange('24h'));
  refresh();
  setInterval(refresh, REFRESH_MS);
}

start();
