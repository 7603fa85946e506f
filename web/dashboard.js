// The dashboard page: live charts (Chart.js) from the gateway's own time series
// (GET /api/timeseries: 1 s points for 15 min, 1 min points for 24 h; the range once, then every
// 2 s only the points after the last answer's end), the links' states, a
// timeline of link states and switch events, and the monitoring alerts when the gateway has them.
// The browser never scrapes a backend.
import * as api from './api.js';
import { clockTickFormatter, clockTicks, formatValue, tickFormatter } from './format.js';
import { setupTheme } from './settings.js';

const { Chart } = window;
const REFRESH_MS = 2000;

// chart-<name>: title, unit (format.js; `count`: whole-number ticks), and which series
// (exact names, or a prefix ending in "." for one per link).
const CHARTS = [
  { name: 'requests', title: 'Requests / s', unit: 'number', series: ['requests_per_s', 'errors_per_s'] },
  { name: 'latency', title: 'Latency: TTFT and end to end, p50 / p95', unit: 'ms',
    series: ['ttft_p50_ms', 'ttft_p95_ms', 'e2e_p50_ms', 'e2e_p95_ms'] },
  { name: 'tokens', title: 'Generated tokens / s', unit: 'number', series: ['tokens_per_s'] },
  { name: 'queue', title: 'Running and queued requests', unit: 'number', count: true, series: ['running', 'queued'] },
  { name: 'kv', title: 'KV cache use', unit: 'percent', series: ['kv_cache_ratio'] },
  { name: 'memory', title: 'Memory (GPU where there is one, else host)', unit: 'bytes', count: true, series: ['memory_bytes.'] },
  { name: 'network', title: 'Network', unit: 'bytesPerSecond', series: ['net_rx_bytes_per_s', 'net_tx_bytes_per_s'] },
  { name: 'temperature', title: 'Temperature (°C)', unit: 'number', series: ['temperature_c.'] },
  { name: 'power', title: 'Power (W)', unit: 'number', series: ['power_w.'] },
  { name: 'rtt', title: 'Link probe round trip', unit: 'ms', series: ['rtt_ms.'], threshold: true },
];
const PALETTE = ['#2f6fde', '#e8710a', '#1e8e3e', '#d93025', '#9334e6', '#12b5cb', '#f9ab00', '#5f6368'];

let range = '15m';
// The series shown: the whole range fetched once, then only the points after `end` (?since=),
// appended and trimmed to the range. {range, step, end, series: {name: [v or null, ...]}}.
let held = null;
const RANGE_SECONDS = { '15m': 15 * 60, '24h': 24 * 60 * 60 };
const charts = new Map();
const notice = document.getElementById('notice');

function cssVar(name) { return getComputedStyle(document.documentElement).getPropertyValue(name).trim(); }

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
        // From the first point to the last (min and max are set with the data: Chart.js would pad
        // the axis past the last point to a round number), ticks on round times, about 100 px apart
        // so that a phone's narrow chart does not crowd its clock labels.
        x: { type: 'linear',
             afterBuildTicks: (axis) => { axis.ticks = clockTicks(axis.min, axis.max, Math.min(6, Math.max(2, Math.floor(axis.width / 100)))); },
             ticks: { callback: clockTickFormatter() } },
        y: { beginAtZero: true,
          ticks: { maxTicksLimit: 5, callback: tickFormatter(spec.unit), ...(spec.count ? { precision: 0 } : {}) } },
      },
      plugins: {
        legend: { labels: { boxWidth: 10 } },
        tooltip: { callbacks: { title: (items) => fmtTime(items[0].parsed.x),
                                label: (item) => `${item.dataset.label}: ${formatValue(spec.unit, item.parsed.y)}` } },
      },
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
    if (xs.length) Object.assign(chart.options.scales.x, { min: xs[0].x, max: xs[xs.length - 1].x });
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
    li.className = 'empty';
    li.textContent = 'No switches yet.';
    items.push(li);
  }
  document.getElementById('timeline').replaceChildren(...items);
}

function updateAlerts(body) {
  const list = document.getElementById('alerts');
  if (!body) {
    const li = document.createElement('li');
    li.className = 'empty';
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
    li.textContent = `${a.state === 'firing' ? 'FIRING' : 'resolved'} ${a.rule}: ${a.metric} = ${formatValue('number', a.value)} ` +
                     `(${a.above !== undefined ? `above ${a.above}` : `below ${a.below}`}) since ${since}`;
    return li;
  });
  if (!items.length) {
    const li = document.createElement('li');
    li.className = 'empty';
    li.textContent = `No alerts (${(body.rules || []).length} rules watching).`;
    items.push(li);
  }
  list.replaceChildren(...items);
}

// Appends an answer to ?since=held.end to `held`; false when it cannot (points between were lost:
// the gateway restarted, or this page slept past the ring), and the whole range must be fetched.
// Every series has the same number of points, so a series new in this answer starts with nulls.
function append(data) {
  if (data.step !== held.step) return false;
  if (data.end <= held.end) return true;  // nothing newer (or an answer overtaken by another)
  const fresh = (data.end - held.end) / data.step;
  const names = Object.keys(data.series);
  if (names.some((n) => data.series[n].length < fresh)) return false;
  const length = Object.values(held.series)[0]?.length ?? 0;
  const keep = RANGE_SECONDS[held.range] / held.step;
  for (const name of new Set([...Object.keys(held.series), ...names])) {
    const old = held.series[name] || new Array(length).fill(null);
    const added = data.series[name] ? data.series[name].slice(-fresh) : new Array(fresh).fill(null);
    held.series[name] = old.concat(added).slice(-keep);
  }
  held.end = data.end;
  return true;
}

// The answer to show, with the held series; null when the range changed while it was asked for.
async function fetchSeries() {
  const asked = range;
  // Until the range has a point, its "end" means nothing (a gateway that has not sampled yet).
  const holding = held && held.range === asked && (Object.values(held.series)[0]?.length ?? 0) > 0;
  if (holding) {
    const data = await api.timeseries(asked, held.end);
    if (range !== asked) return null;
    if (append(data)) return { ...data, step: held.step, end: held.end, series: held.series };
  }
  const data = await api.timeseries(asked);
  if (range !== asked) return null;
  held = { range: asked, step: data.step, end: data.end, series: data.series };
  return data;
}

async function refresh() {
  try {
    const data = await fetchSeries();
    if (!data) return;
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
