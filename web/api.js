// HTTP to the gateway: the key kept in this browser, JSON calls, the conversation API and
// OpenAI-style streaming chat (server-sent events read from fetch's body, so Stop can abort it).

const KEY_STORAGE = 'tandem.api_key';

export class ApiError extends Error {
  constructor(status, message, code, retryAfter) {
    super(message);
    this.status = status;
    this.code = code || '';
    this.retryAfter = retryAfter || 0;
  }
}

export function getKey() { return localStorage.getItem(KEY_STORAGE) || ''; }
export function setKey(key) { localStorage.setItem(KEY_STORAGE, key); }

// Called when the gateway answers 401; the page installs a function that asks for the key.
let onUnauthorized = null;
export function setUnauthorizedHandler(fn) { onUnauthorized = fn; }

function headers(extra = {}) {
  const h = { ...extra };
  const key = getKey();
  if (key) h.Authorization = `Bearer ${key}`;
  return h;
}

async function errorFrom(response) {
  let message = `${response.status} ${response.statusText}`;
  let code = '';
  try {
    const body = await response.json();
    if (body && body.error) {
      message = body.error.message || message;
      code = body.error.code || '';
    }
  } catch (_) { /* not JSON: keep the status line */ }
  return new ApiError(response.status, message, code, Number(response.headers.get('Retry-After')) || 0);
}

export async function call(method, path, body, retried = false) {
  const init = { method, headers: headers(body === undefined ? {} : { 'Content-Type': 'application/json' }) };
  if (body !== undefined) init.body = JSON.stringify(body);
  const response = await fetch(path, init);
  if (response.status === 401 && onUnauthorized && !retried) {
    await onUnauthorized();
    return call(method, path, body, true);
  }
  if (!response.ok) throw await errorFrom(response);
  return response.json();
}

export const uiConfig = () => call('GET', '/api/ui/config');
export const listConversations = (q = '') => call('GET', '/api/conversations' + (q ? `?q=${encodeURIComponent(q)}` : ''));
export const getConversation = (id) => call('GET', `/api/conversations/${encodeURIComponent(id)}`);
export const createConversation = (c) => call('POST', '/api/conversations', c);
export const saveConversation = (id, c) => call('PUT', `/api/conversations/${encodeURIComponent(id)}`, c);
export const deleteConversation = (id) => call('DELETE', `/api/conversations/${encodeURIComponent(id)}`);
export const exportConversations = () => call('GET', '/api/conversations/export');
export const importConversations = (data) => call('POST', '/api/conversations/import', data);
export const listModels = () => call('GET', '/v1/models');
// since: the "end" of an earlier answer, for only the points after it.
export const timeseries = (range, since = null) =>
  call('GET', `/api/timeseries?range=${range}${since === null ? '' : `&since=${since}`}`);
export async function alerts() {
  try { return await call('GET', '/api/alerts'); } catch (e) { if (e.status === 404) return null; throw e; }
}

// Streams a chat completion. `onDelta(text)` gets each piece of content as it arrives. Resolves
// to {text, usage, link, ttftMs, seconds, finishReason, cut}; `cut` is the error object when the
// stream ended with an error event (a link failed mid-answer). Rejects with ApiError before the
// stream starts, or with an AbortError when `signal` aborts.
export async function streamChat(request, onDelta, signal) {
  const started = performance.now();
  const body = { ...request, stream: true, stream_options: { include_usage: true } };
  let response = await fetch('/v1/chat/completions', {
    method: 'POST', headers: headers({ 'Content-Type': 'application/json' }), body: JSON.stringify(body), signal,
  });
  if (response.status === 401 && onUnauthorized) {
    await onUnauthorized();
    response = await fetch('/v1/chat/completions', {
      method: 'POST', headers: headers({ 'Content-Type': 'application/json' }), body: JSON.stringify(body), signal,
    });
  }
  if (!response.ok) throw await errorFrom(response);
  const result = { text: '', usage: null, link: response.headers.get('X-Tandem-Link') || '', ttftMs: null,
                   seconds: 0, finishReason: null, cut: null, chunks: 0, firstAt: 0 };
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  let done = false;
  while (!done) {
    const { value, done: ended } = await reader.read();
    if (ended) break;
    buffer += decoder.decode(value, { stream: true });
    let cut;
    while ((cut = buffer.indexOf('\n\n')) >= 0) {
      const event = buffer.slice(0, cut);
      buffer = buffer.slice(cut + 2);
      for (const line of event.split('\n')) {
        if (!line.startsWith('data:')) continue;
        const data = line.slice(5).trim();
        if (data === '[DONE]') { done = true; break; }
        let json;
        try { json = JSON.parse(data); } catch (_) { continue; }
        if (json.error) { result.cut = json.error; done = true; break; }
        if (json.usage) result.usage = json.usage;
        const choice = json.choices && json.choices[0];
        if (!choice) continue;
        if (choice.finish_reason) result.finishReason = choice.finish_reason;
        const piece = choice.delta && choice.delta.content;
        if (piece) {
          if (result.ttftMs === null) { result.ttftMs = performance.now() - started; result.firstAt = performance.now(); }
          result.chunks += 1;
          result.text += piece;
          onDelta(piece);
        }
      }
    }
  }
  const ended = performance.now();
  result.seconds = (ended - started) / 1000;
  result.genSeconds = result.firstAt ? (ended - result.firstAt) / 1000 : 0;
  return result;
}
