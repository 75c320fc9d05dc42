// The dashboard's shell: a hash router over the views, the theme, the token prompt.
import { adoptTokenFromUrl, getJson, token, TokenRequired } from './api.js';
import { failure, fill } from './dom.js';
import { runsView } from './runs.js';
import { runView } from './run.js';
import { reviewsView } from './reviews.js';
import { systemView } from './system.js';
import { statsView } from './stats.js';

const THEME_KEY = 'orchestrator.theme';
const view = document.getElementById('view');
const prompt = document.getElementById('token-prompt');
const connection = document.getElementById('conn');
let current = null;

/** What a view gets: where it is, a signal that aborts when the page moves on, and polling that stops then too. */
class ViewContext {
  constructor(params) {
    this.params = params;
    this.controller = new AbortController();
    this.timers = [];
  }

  get signal() { return this.controller.signal; }

  get active() { return !this.controller.signal.aborted; }

  /** Runs fn now and then every ms milliseconds until the view is left; a failure shows in the header, not the view. */
  every(ms, fn) {
    const tick = async () => {
      if (!this.active) return;
      try {
        await fn();
        setConnection(true);
      } catch (error) {
        if (!this.handle(error)) return;
      }
      if (this.active) this.timers.push(setTimeout(tick, ms));
    };
    return tick();
  }

  /** Shows the token prompt for a 401, the connection as lost for a network failure; true if the view should go on. */
  handle(error) {
    if (error instanceof TokenRequired) {
      showPrompt(error.refused);
      return false;
    }
    if (error.name === 'AbortError') return false;
    if (error instanceof TypeError) setConnection(false);
    return true;
  }

  leave() {
    this.controller.abort();
    this.timers.forEach(clearTimeout);
  }
}

const routes = [
  [/^\/?$/, () => ['runs', runsView]],
  [/^\/runs\/?$/, () => ['runs', runsView]],
  [/^\/runs\/([^/]+)$/, (m) => ['runs', runView, decodeURIComponent(m[1])]],
  [/^\/reviews\/?$/, () => ['reviews', reviewsView]],
  [/^\/system\/?$/, () => ['system', systemView]],
  [/^\/stats\/?$/, () => ['stats', statsView]],
];

function parseHash() {
  const hash = location.hash.replace(/^#/, '');
  const [path, query] = hash.split('?');
  return { path, query: new URLSearchParams(query ?? '') };
}

async function navigate() {
  current?.leave();
  const { path, query } = parseHash();
  const match = routes.map(([pattern, make]) => [pattern.exec(path), make]).find(([m]) => m);
  const context = new ViewContext(query);
  current = context;
  if (!match) {
    fill(view, failure(new Error(`no page at #${path}`)));
    return;
  }
  const [section, render, id] = match[1](match[0]);
  for (const link of document.querySelectorAll('[data-nav]')) {
    if (link.dataset.nav === section) link.setAttribute('aria-current', 'page');
    else link.removeAttribute('aria-current');
  }
  view.replaceChildren();
  try {
    await render(view, context, id);
    setConnection(true);
  } catch (error) {
    if (context.handle(error) && context.active) fill(view, failure(error));
  }
}

function setConnection(ok) {
  connection.textContent = ok ? '● live' : '● host unreachable';
  connection.classList.toggle('down', !ok);
}

function showPrompt(refused) {
  current?.leave();
  view.replaceChildren();
  prompt.hidden = false;
  document.getElementById('token-why').dataset.refused = refused ? 'true' : 'false';
  if (refused) document.getElementById('token-title').textContent = 'The host refused this token';
  document.getElementById('token-input').focus();
}

document.getElementById('token-form').addEventListener('submit', (event) => {
  event.preventDefault();
  const input = document.getElementById('token-input');
  token.set(input.value.trim());
  input.value = '';
  prompt.hidden = true;
  navigate();
  refreshReviewCount();
});

/** The stored choice if the toggle was used, else the system's. */
const systemDark = matchMedia('(prefers-color-scheme: dark)');
function applyTheme() {
  document.documentElement.dataset.theme = localStorage.getItem(THEME_KEY) ?? (systemDark.matches ? 'dark' : 'light');
}

document.getElementById('theme').addEventListener('click', () => {
  localStorage.setItem(THEME_KEY, document.documentElement.dataset.theme === 'dark' ? 'light' : 'dark');
  applyTheme();
});
systemDark.addEventListener('change', applyTheme);

/** The pending reviews' and approvals' count beside the nav link, so a waiting decision is seen from any page. */
async function refreshReviewCount() {
  const badge = document.getElementById('review-count');
  try {
    const [pending, approvals] = await Promise.all([getJson('/api/reviews'), getJson('/api/approvals')]);
    const count = pending.length + approvals.length;
    badge.textContent = String(count);
    badge.hidden = count === 0;
  } catch {
    badge.hidden = true;
  }
}

window.addEventListener('orchestrator:reviews-changed', refreshReviewCount);
applyTheme();
adoptTokenFromUrl();
window.addEventListener('hashchange', navigate);
navigate();
refreshReviewCount();
setInterval(refreshReviewCount, 15_000);
