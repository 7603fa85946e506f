// Model text to HTML: marked (Markdown), then DOMPurify, then highlight.js on code blocks, plus a
// copy button on each block. Raw HTML in the text is escaped by the renderer, so a reply with
// <script> or <img onerror> shows those characters instead of running anything; DOMPurify is the
// second wall. Nothing else in the page turns model text into markup.

const { marked, DOMPurify, hljs } = window;

function escapeHtml(s) {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

if (marked) {
  marked.use({
    gfm: true,
    breaks: false,
    headerIds: false,
    mangle: false,
    renderer: {
      html(html) { return escapeHtml(html); },
    },
  });
}

export function librariesMissing() {
  return ['marked', 'DOMPurify', 'hljs'].filter((name) => !window[name]);
}

// Safe HTML for `text`.
export function renderMarkdown(text) {
  if (!marked || !DOMPurify) return escapeHtml(text).replace(/\n/g, '<br>');
  const html = marked.parse(text);
  return DOMPurify.sanitize(html, { USE_PROFILES: { html: true }, FORBID_TAGS: ['style', 'form', 'input'], FORBID_ATTR: ['style'] });
}

// Puts `text` into `element` as sanitised Markdown; `final` adds highlighting and copy buttons
// (skipped while streaming, where the block is still growing).
export function renderInto(element, text, final) {
  element.innerHTML = renderMarkdown(text);
  if (!final) return;
  for (const code of element.querySelectorAll('pre code')) {
    if (hljs) {
      const lang = (code.className.match(/language-([\w-]+)/) || [])[1];
      try {
        const result = lang && hljs.getLanguage(lang) ? hljs.highlight(lang, code.textContent, true)
                                                      : hljs.highlightAuto(code.textContent);
        code.innerHTML = DOMPurify ? DOMPurify.sanitize(result.value) : escapeHtml(code.textContent);
        code.classList.add('hljs');
      } catch (_) { /* unknown language: leave it plain */ }
    }
    const button = document.createElement('button');
    button.type = 'button';
    button.className = 'copy-code';
    button.textContent = 'Copy';
    button.setAttribute('aria-label', 'Copy code');
    button.addEventListener('click', () => copyText(code.textContent, button));
    code.parentElement.appendChild(button);
  }
}

export async function copyText(text, button) {
  try {
    await navigator.clipboard.writeText(text);
    if (button) { const was = button.textContent; button.textContent = 'Copied'; setTimeout(() => { button.textContent = was; }, 1200); }
  } catch (_) {
    if (button) button.textContent = 'Copy failed';
  }
}
