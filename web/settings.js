// The theme (system, light or dark; kept in this browser) and the current conversation's
// settings panel: system prompt, model (from the links' /v1/models), temperature, top_p,
// max_tokens.
import { listModels } from './api.js';

const THEME_STORAGE = 'tandem.theme';
const THEMES = ['system', 'light', 'dark'];

function effectiveTheme(choice) {
  if (choice === 'light' || choice === 'dark') return choice;
  return window.matchMedia('(prefers-color-scheme: dark)').matches ? 'dark' : 'light';
}

export function applyTheme() {
  const choice = localStorage.getItem(THEME_STORAGE) || 'system';
  const root = document.documentElement;
  if (choice === 'system') root.removeAttribute('data-theme'); else root.setAttribute('data-theme', choice);
  const theme = effectiveTheme(choice);
  root.dataset.effectiveTheme = theme;
  const light = document.getElementById('hljs-light');
  const dark = document.getElementById('hljs-dark');
  if (light && dark) { light.disabled = theme === 'dark'; dark.disabled = theme !== 'dark'; }
  const button = document.getElementById('theme');
  if (button) { button.setAttribute('aria-label', `Theme: ${choice}`); button.title = `Theme: ${choice} (click to change)`; }
  document.dispatchEvent(new CustomEvent('themechange', { detail: theme }));
  return theme;
}

export function setupTheme() {
  applyTheme();
  window.matchMedia('(prefers-color-scheme: dark)').addEventListener('change', applyTheme);
  const button = document.getElementById('theme');
  if (button) {
    button.addEventListener('click', () => {
      const now = localStorage.getItem(THEME_STORAGE) || 'system';
      localStorage.setItem(THEME_STORAGE, THEMES[(THEMES.indexOf(now) + 1) % THEMES.length]);
      applyTheme();
    });
  }
}

export class SettingsPanel {
  // `onChange(settings)` runs when the person edits a field.
  constructor(onChange) {
    this.onChange = onChange;
    this.panel = document.getElementById('settings');
    this.toggle = document.getElementById('toggle-settings');
    this.fields = {
      system: document.getElementById('set-system'),
      model: document.getElementById('set-model'),
      temperature: document.getElementById('set-temperature'),
      top_p: document.getElementById('set-top-p'),
      max_tokens: document.getElementById('set-max-tokens'),
    };
    this.models = [];
    this.toggle.addEventListener('click', () => {
      this.panel.hidden = !this.panel.hidden;
      this.toggle.setAttribute('aria-expanded', String(!this.panel.hidden));
      if (!this.panel.hidden) this.fields.system.focus();
    });
    for (const el of Object.values(this.fields)) el.addEventListener('change', () => this.onChange(this.read()));
  }

  async loadModels() {
    try {
      const list = await listModels();
      this.models = (list.data || []).map((m) => m.id);
    } catch (_) {
      this.models = [];
    }
    const select = this.fields.model;
    const keep = select.value;
    select.replaceChildren();
    for (const id of this.models) {
      const option = document.createElement('option');
      option.value = id;
      option.textContent = id;
      select.appendChild(option);
    }
    if (keep && this.models.includes(keep)) select.value = keep;
  }

  // The settings as stored with the conversation (absent fields left out).
  read() {
    const s = {};
    const f = this.fields;
    if (f.system.value.trim()) s.system = f.system.value;
    if (f.model.value) s.model = f.model.value;
    const number = (el) => (el.value === '' ? null : Number(el.value));
    const t = number(f.temperature); if (t !== null && !Number.isNaN(t)) s.temperature = t;
    const p = number(f.top_p); if (p !== null && !Number.isNaN(p)) s.top_p = p;
    const m = number(f.max_tokens); if (m !== null && Number.isInteger(m) && m > 0) s.max_tokens = m;
    return s;
  }

  show(settings = {}) {
    const f = this.fields;
    f.system.value = settings.system || '';
    if (settings.model && !this.models.includes(settings.model)) {
      const option = document.createElement('option');
      option.value = settings.model;
      option.textContent = `${settings.model} (not served now)`;
      f.model.appendChild(option);
    }
    f.model.value = settings.model || this.models[0] || '';
    f.temperature.value = settings.temperature ?? '';
    f.top_p.value = settings.top_p ?? '';
    f.max_tokens.value = settings.max_tokens ?? '';
  }
}
