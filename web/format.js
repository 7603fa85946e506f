// Numbers and times for people: the dashboard's axis ticks and tooltip values, in one place so
// that every chart reads alike.
//
// An axis's ticks are formatted together (tickFormatter): they share one unit prefix, chosen by the
// largest tick, and get the fewest decimals that keep every label distinct, true to its tick and
// every nonzero tick off "0". Rounding each tick on its own printed "0%, 0%, 0%" for a KV cache
// under 1% and "1 B, 1 B, 0 B" for a quiet network. A single value (formatValue) keeps three
// significant digits. Time axes get ticks on round times (clockTicks) and clock labels
// (clockTickFormatter).
//
// Byte prefixes are decimal (1 kB = 1000 B): Chart.js puts ticks at 1, 2 or 5 times a power of ten,
// which read as round numbers only in decimal units.

const MAX_DECIMALS = 12;

// Each unit: `scale` turns a series value into the shown number (a ratio into percent), and
// `ladder` lists [divisor, suffix] from the smallest prefix up; a number takes the largest divisor
// not above its magnitude.
// `bareZero`: zero reads "0", not "0k" (a prefix alone is no unit).
export const UNITS = {
  number: { scale: 1, bareZero: true, ladder: [[1, ''], [1e3, 'k'], [1e6, 'M'], [1e9, 'G'], [1e12, 'T']] },
  percent: { scale: 100, ladder: [[1, '%']] },
  bytes: { scale: 1, ladder: [[1, ' B'], [1e3, ' kB'], [1e6, ' MB'], [1e9, ' GB'], [1e12, ' TB']] },
  bytesPerSecond: { scale: 1, ladder: [[1, ' B/s'], [1e3, ' kB/s'], [1e6, ' MB/s'], [1e9, ' GB/s'], [1e12, ' TB/s']] },
  ms: { scale: 1, ladder: [[1, ' ms'], [1e3, ' s']] },
};

function unitOf(name) {
  const unit = UNITS[name];
  if (!unit) throw new Error(`format.js: no unit named ${name}`);
  return unit;
}

function rungFor(ladder, magnitude) {
  let rung = ladder[0];
  for (const r of ladder) if (magnitude >= r[0]) rung = r;
  return rung;
}

// "1.50" -> "1.5", "2.0" -> "2", "-0.0" -> "0".
function fixed(x, decimals) {
  let s = x.toFixed(decimals);
  if (s.includes('.')) s = s.replace(/0+$/, '').replace(/\.$/, '');
  return s === '-0' ? '0' : s;
}

// The fewest decimals (0 to MAX_DECIMALS) that print distinct numbers distinctly, no nonzero number
// as 0, and each number within a hundredth of the smallest gap between them (so ticks 0, 2.5, 5
// do not read 0, 3, 5). Numbers equal to 12 significant digits count as one (floating-point noise).
export function decimalsToTell(numbers) {
  const distinct = [...new Set(numbers.map((x) => Number(x.toPrecision(12))))].sort((a, b) => a - b);
  const gaps = distinct.slice(1).map((x, i) => x - distinct[i]);
  const tolerance = (gaps.length ? Math.min(...gaps) : Math.abs(distinct[0] ?? 0)) / 100;
  for (let d = 0; d < MAX_DECIMALS; d += 1) {
    const labels = distinct.map((x) => fixed(x, d));
    if (new Set(labels).size === distinct.length &&
        distinct.every((x, i) => (x === 0 || labels[i] !== '0') && Math.abs(Number(labels[i]) - x) <= tolerance)) return d;
  }
  return MAX_DECIMALS;
}

// Labels for numbers shown side by side (an axis's ticks), in one unit, each different from the others.
export function formatTogether(unitName, values) {
  const { scale, ladder, bareZero } = unitOf(unitName);
  const scaled = values.map((v) => v * scale);
  const [divisor, suffix] = rungFor(ladder, Math.max(0, ...scaled.map(Math.abs)));
  const shown = scaled.map((x) => x / divisor);
  const decimals = decimalsToTell(shown);
  return shown.map((x) => {
    const number = fixed(x, decimals);
    return number === '0' && bareZero ? '0' : `${number}${suffix}`;
  });
}

// A Chart.js tick callback (value, index, ticks) for an axis in this unit.
export function tickFormatter(unitName) {
  unitOf(unitName);
  return (value, index, ticks) => formatTogether(unitName, ticks.map((t) => t.value))[index];
}

// Clock times (unix seconds) shown side by side, in the browser's locale: with seconds only when
// some time is not on a whole minute.
export function formatClockTogether(unixSeconds) {
  const seconds = unixSeconds.some((t) => Math.round(t) % 60 !== 0);
  const options = { hour: '2-digit', minute: '2-digit', ...(seconds ? { second: '2-digit' } : {}) };
  return unixSeconds.map((t) => new Date(t * 1000).toLocaleTimeString([], options));
}

// Round steps for a time axis, in seconds: seconds, minutes, quarter hours, hours.
const CLOCK_STEPS = [1, 2, 5, 10, 15, 30, 60, 120, 180, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400];

// Where a time axis from `min` to `max` (unix seconds) puts its ticks: at most `count`, on whole
// multiples of the smallest round step that fits (Chart.js's own ticks on a linear axis fall on
// multiples of 50 or 100 seconds). Chart.js tick objects, for a scale's afterBuildTicks.
export function clockTicks(min, max, count) {
  const step = CLOCK_STEPS.find((s) => (max - min) / s < count) ?? CLOCK_STEPS[CLOCK_STEPS.length - 1];
  const ticks = [];
  for (let t = Math.ceil(min / step) * step; t <= max; t += step) ticks.push({ value: t });
  return ticks;
}

// A Chart.js tick callback for a time axis in unix seconds.
export function clockTickFormatter() {
  return (value, index, ticks) => formatClockTogether(ticks.map((t) => t.value))[index];
}

// One value on its own (a tooltip, an alert), with three significant digits; '–' when absent.
export function formatValue(unitName, value) {
  if (value === null || value === undefined || !Number.isFinite(Number(value))) return '–';
  const { scale, ladder, bareZero } = unitOf(unitName);
  const x = Number(value) * scale;
  if (x === 0 && bareZero) return '0';
  // The rung from the value as it will print, so 999.7 B reads "1 kB", not "1000 B".
  const [divisor, suffix] = rungFor(ladder, Math.abs(Number(x.toPrecision(3))));
  const shown = x / divisor;
  const decimals = shown === 0 ? 0 : Math.min(MAX_DECIMALS, Math.max(0, 2 - Math.floor(Math.log10(Math.abs(shown)))));
  return `${fixed(shown, decimals)}${suffix}`;
}
