// One conversation on screen: its messages, sending (Enter), streaming the reply, Stop (button or
// Esc), regenerate, edit-and-resend, copy, and the numbers under each reply (time to first token,
// tokens/s, tokens, link). Model text reaches the DOM only through markdown.js.
import * as api from './api.js';
import { renderInto, copyText } from './markdown.js';

function titleFrom(text) {
  const line = text.trim().split('\n')[0];
  return line.length > 60 ? `${line.slice(0, 57)}…` : line || 'New chat';
}

// What to do about an error, in words.
export function explain(e) {
  if (e.name === 'AbortError') return null;
  if (!(e instanceof api.ApiError)) return `Could not reach the gateway (${e.message}). Check that it is running, then retry.`;
  if (e.status === 401) return 'The gateway refused the API key. Enter a valid key and retry.';
  if (e.status === 429) return `Too many requests: ${e.message}. Wait${e.retryAfter ? ` ${e.retryAfter} s` : ' a moment'} and retry.`;
  if (e.status === 503 || e.status === 502) return `No backend can answer now: ${e.message}. The dashboard shows the links' state; retry shortly.`;
  if (e.code === 'context_length_exceeded' || (e.status === 400 && /context length|too long/i.test(e.message))) return `${e.message}. Start a new chat, shorten the conversation or lower max tokens.`;
  return `${e.message} (${e.status}).`;
}

export class Chat {
  constructor({ settings, onSaved, onError }) {
    this.settings = settings;
    this.onSaved = onSaved;
    this.onError = onError;
    this.box = document.getElementById('messages');
    this.input = document.getElementById('chat-input');
    this.sendButton = document.getElementById('send');
    this.stopButton = document.getElementById('stop');
    this.title = document.getElementById('chat-title');
    this.controller = null;
    this.conversation = this.blank();
    document.getElementById('composer').addEventListener('submit', (e) => { e.preventDefault(); this.send(); });
    this.input.addEventListener('keydown', (e) => {
      if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) { e.preventDefault(); this.send(); }
    });
    this.stopButton.addEventListener('click', () => this.stop());
    document.addEventListener('keydown', (e) => { if (e.key === 'Escape' && this.controller) this.stop(); });
    document.getElementById('rename').addEventListener('click', () => this.rename());
  }

  blank() { return { id: null, title: 'New chat', settings: this.settings.read(), messages: [] }; }

  busy() { return this.controller !== null; }

  newChat() {
    if (this.busy()) this.stop();
    this.conversation = this.blank();
    this.conversation.settings = {};
    this.settings.show({});
    this.conversation.settings = this.settings.read();
    this.render();
    this.input.focus();
  }

  load(conversation) {
    if (this.busy()) this.stop();
    this.conversation = conversation;
    this.settings.show(conversation.settings || {});
    this.render();
  }

  settingsChanged(settings) {
    this.conversation.settings = settings;
    if (this.conversation.id) this.save();
  }

  render() {
    this.title.textContent = this.conversation.title;
    document.title = `${this.conversation.title} · Tandem`;
    this.box.replaceChildren(...this.conversation.messages.map((m, i) => this.messageElement(m, i)));
    this.box.scrollTop = this.box.scrollHeight;
  }

  messageElement(m, index) {
    const el = document.createElement('article');
    el.className = `message ${m.role}`;
    el.setAttribute('data-testid', m.role === 'user' ? 'message-user' : 'message-assistant');
    el.setAttribute('aria-label', m.role === 'user' ? 'You' : 'Assistant');
    const bubble = document.createElement('div');
    bubble.className = 'bubble';
    if (m.role === 'assistant') renderInto(bubble, m.content, true); else bubble.textContent = m.content;
    el.appendChild(bubble);
    const meta = m.meta || {};
    if (meta.error) {
      const error = document.createElement('p');
      error.className = 'error';
      error.setAttribute('role', 'alert');
      error.setAttribute('data-testid', 'message-error');
      error.textContent = meta.error;
      el.appendChild(error);
    }
    const actions = document.createElement('div');
    actions.className = 'actions';
    if (m.role === 'assistant') {
      const stats = document.createElement('span');
      stats.className = 'stats';
      stats.setAttribute('data-testid', 'message-stats');
      const parts = [];
      if (meta.ttft_ms != null) parts.push(`TTFT ${Math.round(meta.ttft_ms)} ms`);
      if (meta.tokens_per_s != null) parts.push(`${meta.tokens_per_s.toFixed(1)} tok/s`);
      if (meta.tokens != null) parts.push(`${meta.tokens} tokens`);
      if (meta.link) parts.push(`via ${meta.link}`);
      if (meta.stopped) parts.push('stopped');
      stats.textContent = parts.join(' · ');
      actions.appendChild(stats);
    }
    actions.appendChild(this.button('Copy', 'copy', `Copy this message`, (b) => copyText(m.content, b)));
    const last = index === this.conversation.messages.length - 1;
    if (m.role === 'assistant' && last) {
      actions.appendChild(this.button('Regenerate', 'regenerate', 'Regenerate this reply', () => this.regenerate()));
    }
    if (m.role === 'user') {
      actions.appendChild(this.button('Edit', 'edit', 'Edit and resend this message', () => this.edit(el, index)));
    }
    el.appendChild(actions);
    return el;
  }

  button(text, testid, label, onClick) {
    const b = document.createElement('button');
    b.type = 'button';
    b.textContent = text;
    b.setAttribute('data-testid', testid);
    b.setAttribute('aria-label', label);
    b.addEventListener('click', () => onClick(b));
    return b;
  }

  edit(el, index) {
    if (this.busy()) return;
    const m = this.conversation.messages[index];
    const area = document.createElement('textarea');
    area.className = 'edit';
    area.value = m.content;
    area.setAttribute('data-testid', 'edit-input');
    area.setAttribute('aria-label', 'Edit message');
    const save = this.button('Save & send', 'edit-send', 'Save and resend', () => {
      if (!area.value.trim()) return;
      this.conversation.messages = this.conversation.messages.slice(0, index);
      this.conversation.messages.push({ role: 'user', content: area.value });
      this.render();
      this.reply();
    });
    const cancel = this.button('Cancel', 'edit-cancel', 'Cancel editing', () => this.render());
    area.addEventListener('keydown', (e) => {
      if (e.key === 'Enter' && !e.shiftKey) { e.preventDefault(); save.click(); }
      if (e.key === 'Escape') { e.stopPropagation(); cancel.click(); }
    });
    const actions = document.createElement('div');
    actions.className = 'actions';
    actions.append(save, cancel);
    el.replaceChildren(area, actions);
    area.focus();
  }

  async send() {
    const text = this.input.value;
    if (!text.trim() || this.busy()) return;
    this.input.value = '';
    this.conversation.settings = this.settings.read();
    if (this.conversation.messages.length === 0 && this.conversation.title === 'New chat') {
      this.conversation.title = titleFrom(text);
    }
    this.conversation.messages.push({ role: 'user', content: text });
    this.render();
    await this.reply();
  }

  async regenerate() {
    if (this.busy()) return;
    const messages = this.conversation.messages;
    if (messages.length && messages[messages.length - 1].role === 'assistant') messages.pop();
    this.render();
    await this.reply();
  }

  stop() {
    if (this.controller) this.controller.abort();
  }

  request() {
    const s = this.conversation.settings || {};
    const messages = [];
    if (s.system) messages.push({ role: 'system', content: s.system });
    for (const m of this.conversation.messages) {
      if (m.role === 'assistant' && m.meta && m.meta.error && !m.content) continue;  // failed turns are not context
      messages.push({ role: m.role, content: m.content });
    }
    const r = { model: s.model || this.settings.models[0] || '', messages };
    for (const k of ['temperature', 'top_p', 'max_tokens']) if (s[k] != null) r[k] = s[k];
    return r;
  }

  setBusy(busy) {
    this.sendButton.hidden = busy;
    this.stopButton.hidden = !busy;
    if (busy) this.stopButton.focus(); else this.input.focus();
  }

  // Streams the assistant's answer to the conversation as it stands, then saves.
  async reply() {
    const message = { role: 'assistant', content: '', meta: {} };
    this.conversation.messages.push(message);
    const index = this.conversation.messages.length - 1;
    const el = this.messageElement(message, index);
    el.classList.add('streaming');
    el.querySelector('.actions').replaceChildren();
    this.box.appendChild(el);
    const bubble = el.querySelector('.bubble');
    this.controller = new AbortController();
    this.setBusy(true);
    let pending = false;
    const paint = () => {
      pending = false;
      renderInto(bubble, message.content, false);
      this.box.scrollTop = this.box.scrollHeight;
    };
    try {
      const result = await api.streamChat(this.request(), (piece) => {
        message.content += piece;
        if (!pending) { pending = true; requestAnimationFrame(paint); }
      }, this.controller.signal);
      const tokens = result.usage ? result.usage.completion_tokens : result.chunks;
      message.meta = { ttft_ms: result.ttftMs, tokens, link: result.link || null };
      if (result.genSeconds > 0 && tokens > 1) message.meta.tokens_per_s = (tokens - 1) / result.genSeconds;
      if (result.cut) {
        message.meta.error = result.cut.code === 'upstream_failed'
          ? `The answer was cut: ${result.cut.message}. The gateway has moved to another link; press Regenerate.`
          : `The answer ended with an error: ${result.cut.message}. Press Regenerate to try again.`;
      }
    } catch (e) {
      if (e.name === 'AbortError') {
        message.meta.stopped = true;
      } else {
        message.meta.error = explain(e);
      }
    } finally {
      this.controller = null;
      this.setBusy(false);
    }
    this.render();
    await this.save();
  }

  async rename() {
    const title = window.prompt('Rename this conversation', this.conversation.title);
    if (title === null || !title.trim()) return;
    this.conversation.title = title.trim().slice(0, 200);
    this.render();
    if (this.conversation.id) await this.save();
  }

  async save() {
    const c = this.conversation;
    const body = { title: c.title, settings: c.settings || {}, messages: c.messages };
    try {
      const saved = c.id ? await api.saveConversation(c.id, body) : await api.createConversation(body);
      if (this.conversation === c) c.id = saved.id;
      this.onSaved(c.id);
    } catch (e) {
      this.onError(e);
    }
  }
}
