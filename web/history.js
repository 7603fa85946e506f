// The conversation list: newest first, search, rename, delete, export and import. The gateway
// keeps the conversations (GET/POST/PUT/DELETE /api/conversations), so another computer sees them.
import * as api from './api.js';

export class History {
  // `onOpen(id)` opens a conversation; `onDeleted(id)` runs after one is deleted.
  constructor({ onOpen, onDeleted, onError }) {
    this.onOpen = onOpen;
    this.onDeleted = onDeleted;
    this.onError = onError;
    this.list = document.getElementById('conversations');
    this.search = document.getElementById('search');
    this.activeId = null;
    let timer = null;
    this.search.addEventListener('input', () => {
      clearTimeout(timer);
      timer = setTimeout(() => this.refresh(), 200);
    });
    document.getElementById('export').addEventListener('click', () => this.exportAll());
    document.getElementById('import-file').addEventListener('change', (e) => this.importFile(e.target));
  }

  setActive(id) {
    this.activeId = id;
    for (const li of this.list.children) li.classList.toggle('active', li.dataset.id === id);
  }

  async refresh() {
    let items;
    try {
      items = await api.listConversations(this.search.value.trim());
    } catch (e) {
      this.onError(e);
      return;
    }
    const rows = items.map((c) => {
      const li = document.createElement('li');
      li.dataset.id = c.id;
      li.dataset.testid = 'conversation';
      li.setAttribute('data-testid', 'conversation');
      li.classList.toggle('active', c.id === this.activeId);
      const open = document.createElement('button');
      open.type = 'button';
      open.className = 'open';
      open.textContent = c.title;  // titles are text, never markup
      open.title = `${c.title} — ${new Date(c.updated).toLocaleString()}`;
      open.addEventListener('click', () => this.onOpen(c.id));
      const del = document.createElement('button');
      del.type = 'button';
      del.className = 'delete';
      del.textContent = '✕';
      del.setAttribute('aria-label', `Delete “${c.title}”`);
      del.setAttribute('data-testid', 'delete-conversation');
      del.addEventListener('click', () => this.remove(c.id, c.title));
      li.append(open, del);
      return li;
    });
    this.list.replaceChildren(...rows);
  }

  async remove(id, title) {
    if (!window.confirm(`Delete “${title}”? This cannot be undone.`)) return;
    try {
      await api.deleteConversation(id);
    } catch (e) {
      this.onError(e);
      return;
    }
    this.onDeleted(id);
    await this.refresh();
  }

  async exportAll() {
    try {
      const data = await api.exportConversations();
      const blob = new Blob([JSON.stringify(data, null, 2)], { type: 'application/json' });
      const a = document.createElement('a');
      a.href = URL.createObjectURL(blob);
      a.download = `tandem-conversations-${new Date().toISOString().slice(0, 10)}.json`;
      document.body.appendChild(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(a.href), 10000);
    } catch (e) {
      this.onError(e);
    }
  }

  async importFile(input) {
    const file = input.files && input.files[0];
    input.value = '';
    if (!file) return;
    try {
      const data = JSON.parse(await file.text());
      await api.importConversations(data);
    } catch (e) {
      this.onError(e instanceof SyntaxError ? new Error(`${file.name} is not JSON: ${e.message}`) : e);
      return;
    }
    await this.refresh();
  }
}
