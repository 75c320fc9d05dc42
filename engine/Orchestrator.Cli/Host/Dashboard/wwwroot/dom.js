// Building the page: every value goes in as text (textContent, attributes), never as HTML.

/**
 * h('a', {href: '#/x', class: 'y', onclick: fn}, 'text', child) makes an element. Children are nodes or
 * strings (as text); null, undefined and false are left out; arrays are flattened.
 */
export function h(tag, attributes, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes ?? {})) {
    if (value === null || value === undefined || value === false) continue;
    if (name.startsWith('on') && typeof value === 'function') element.addEventListener(name.slice(2), value);
    else if (name === 'dataset') Object.assign(element.dataset, value);
    else element.setAttribute(name, value === true ? '' : String(value));
  }
  append(element, children);
  return element;
}

function append(element, children) {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(element, child);
    else element.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

/** Replaces an element's content. */
export function fill(element, ...children) {
  element.replaceChildren();
  append(element, children);
  return element;
}

/** A status badge: running, succeeded, failed, cancelled, interrupted, degraded, compensated, pending… */
export function badge(status) {
  return h('span', { class: `badge s-${status ?? 'unknown'}` }, status ?? 'unknown');
}

/** 1.2 s, 340 ms, 2 m 05 s. */
export function duration(ms) {
  if (ms === null || ms === undefined || Number.isNaN(ms)) return '';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`;
  const minutes = Math.floor(ms / 60_000);
  const seconds = Math.round((ms % 60_000) / 1000);
  if (minutes < 60) return `${minutes} m ${String(seconds).padStart(2, '0')} s`;
  return `${Math.floor(minutes / 60)} h ${String(minutes % 60).padStart(2, '0')} m`;
}

/** A local date and time, seconds included; the full ISO time in a tooltip. */
export function time(iso) {
  if (!iso) return h('span', { class: 'muted' }, '—');
  const at = new Date(iso);
  const text = at.toLocaleString(undefined, { month: 'short', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23' });
  return h('time', { datetime: iso, title: iso }, text);
}

/** JSON for reading, in a <pre>; strings longer than a page are cut (the API already previews large values). */
export function json(value) {
  if (value === null || value === undefined) return h('span', { class: 'muted' }, 'none');
  let text = typeof value === 'string' ? value : JSON.stringify(value, null, 2);
  if (text.length > 20_000) text = `${text.slice(0, 20_000)}\n… (${text.length - 20_000} more characters)`;
  return h('pre', { class: 'json' }, text);
}

/** The last part of a path, for dense tables; the full path in a tooltip. */
export function fileName(path) {
  if (!path) return '';
  const parts = path.split(/[\\/]/);
  return parts[parts.length - 1];
}

/** A short notice at the bottom of the page. */
export function toast(message, isError = false) {
  const element = document.getElementById('toast');
  element.textContent = message;
  element.classList.toggle('error', isError);
  element.hidden = false;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => { element.hidden = true; }, 4000);
}

/** A message in place of a view's content when loading failed. */
export function failure(error) {
  return h('div', { class: 'card error-card', role: 'alert' }, h('strong', null, 'Could not load: '), error.message);
}
