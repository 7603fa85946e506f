// The chat page: wires the theme, the key prompt, the history list, the settings panel and the
// conversation together.
import * as api from './api.js';
import { Chat, explain } from './chat.js';
import { History } from './history.js';
import { librariesMissing } from './markdown.js';
import { SettingsPanel, setupTheme } from './settings.js';

const notice = document.getElementById('notice');
function showError(e) {
  const text = typeof e === 'string' ? e : explain(e);
  if (!text) return;
  notice.textContent = text;
  notice.hidden = false;
  clearTimeout(showError.timer);
  showError.timer = setTimeout(() => { notice.hidden = true; }, 12000);
}

// Asks for the key in a dialog; resolves when one is saved.
function askForKey(reason) {
  const dialog = document.getElementById('key-dialog');
  const input = document.getElementById('key-input');
  const error = document.getElementById('key-error');
  error.hidden = !reason;
  error.textContent = reason || '';
  input.value = '';
  return new Promise((resolve) => {
    dialog.addEventListener('close', () => {
      if (input.value.trim()) api.setKey(input.value.trim());
      resolve();
    }, { once: true });
    if (!dialog.open) dialog.showModal();
    input.focus();
  });
}

// On a narrow screen the conversation list is a drawer over the chat (☰ opens it). It covers the
// ☰ button, so a tap on the chat beside it, or Esc, closes it. Returns a function that closes it.
function setupDrawer() {
  const sidebar = document.getElementById('sidebar');
  const toggle = document.getElementById('toggle-sidebar');
  const setOpen = (open) => {
    sidebar.classList.toggle('open', open);
    toggle.setAttribute('aria-expanded', String(open));
  };
  toggle.addEventListener('click', (e) => { e.stopPropagation(); setOpen(!sidebar.classList.contains('open')); });
  document.querySelector('main.chat').addEventListener('click', () => { if (sidebar.classList.contains('open')) setOpen(false); });
  document.addEventListener('keydown', (e) => { if (e.key === 'Escape' && sidebar.classList.contains('open')) setOpen(false); });
  return () => setOpen(false);
}

async function start() {
  setupTheme();
  const missing = librariesMissing();
  if (missing.length) showError(`The page's libraries did not load (${missing.join(', ')}); replies are shown as plain text.`);
  api.setUnauthorizedHandler(() => askForKey(api.getKey() ? 'That key was refused; enter another.' : ''));
  const config = await api.uiConfig().catch(() => ({ keys_required: false }));
  if (config.keys_required && !api.getKey()) await askForKey('');

  const closeDrawer = setupDrawer();
  let chat;
  const settings = new SettingsPanel((s) => chat.settingsChanged(s));
  const history = new History({
    onOpen: async (id) => {
      try {
        chat.load(await api.getConversation(id));
        history.setActive(id);
        closeDrawer();
      } catch (e) { showError(e); }
    },
    onDeleted: (id) => { if (chat.conversation.id === id) chat.newChat(); },
    onError: showError,
  });
  chat = new Chat({
    settings,
    onSaved: (id) => { history.setActive(id); history.refresh(); },
    onError: showError,
  });
  document.getElementById('new-chat').addEventListener('click', () => {
    chat.newChat();
    history.setActive(null);
    closeDrawer();
  });
  await settings.loadModels();
  chat.newChat();
  await history.refresh();
  document.body.dataset.ready = 'true';
}

start();
