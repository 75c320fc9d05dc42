// Runs, newest first: status, script, start, duration; filtered by status and searched by script, refreshed while open.
import { getJson } from './api.js';
import { badge, duration, fileName, fill, h, time } from './dom.js';

const STATUSES = ['running', 'succeeded', 'failed', 'cancelled', 'interrupted'];

export async function runsView(root, context) {
  const status = context.params.get('status') ?? '';
  const search = context.params.get('q') ?? '';
  const body = h('tbody');
  const summary = h('span', { class: 'muted', role: 'status' });

  const statusSelect = h('select', { id: 'runs-status', 'aria-label': 'Status' },
    h('option', { value: '' }, 'All statuses'),
    STATUSES.map((s) => h('option', { value: s, selected: s === status }, s)));
  const searchInput = h('input', { id: 'runs-search', type: 'search', placeholder: 'Search scripts…', value: search, 'aria-label': 'Search by script', spellcheck: 'false' });
  const applyFilters = () => {
    const query = new URLSearchParams();
    if (statusSelect.value) query.set('status', statusSelect.value);
    if (searchInput.value.trim()) query.set('q', searchInput.value.trim());
    const hash = `#/runs${query.size ? `?${query}` : ''}`;
    if (location.hash !== hash) history.replaceState(null, '', hash);
    context.params = query;
    load();
  };
  statusSelect.addEventListener('change', applyFilters);
  let debounce;
  searchInput.addEventListener('input', () => { clearTimeout(debounce); debounce = setTimeout(applyFilters, 200); });

  fill(root,
    h('div', { class: 'page-head' },
      h('h1', null, 'Runs'),
      h('div', { class: 'filters' }, statusSelect, searchInput, summary)),
    h('div', { class: 'card flush' },
      h('table', { class: 'grid', id: 'runs-table' },
        h('thead', null, h('tr', null,
          h('th', { scope: 'col', class: 'w-status' }, 'Status'),
          h('th', { scope: 'col' }, 'Script'),
          h('th', { scope: 'col' }, 'Run'),
          h('th', { scope: 'col' }, 'Started'),
          h('th', { scope: 'col', class: 'num' }, 'Duration'),
          h('th', { scope: 'col' }, 'Error'))),
        body)));

  let loading = false;
  async function load() {
    if (loading) return;
    loading = true;
    try {
      const query = new URLSearchParams({ limit: '500' });
      if (context.params.get('status')) query.set('status', context.params.get('status'));
      if (context.params.get('q')) query.set('script', context.params.get('q'));
      const runs = await getJson(`/api/runs?${query}`, context.signal);
      if (!context.active) return;
      render(runs);
    } finally {
      loading = false;
    }
  }

  function render(runs) {
    const byStatus = {};
    for (const run of runs) byStatus[run.status] = (byStatus[run.status] ?? 0) + 1;
    fill(summary, `${runs.length} run${runs.length === 1 ? '' : 's'}`,
      STATUSES.filter((s) => byStatus[s]).map((s) => [' · ', h('span', { class: `s-${s} strong` }, `${byStatus[s]} ${s}`)]));
    if (runs.length === 0) {
      fill(body, h('tr', null, h('td', { colspan: 6, class: 'empty' }, 'No runs match. Start one with orchestrator run, or POST /api/runs.')));
      return;
    }
    // Keeps focus on the row it was on across a refresh.
    const focused = document.activeElement?.closest?.('tr')?.dataset.run;
    fill(body, runs.map((run) => {
      const href = `#/runs/${encodeURIComponent(run.id)}`;
      const live = run.status === 'running' && run.startedAt ? Date.now() - Date.parse(run.startedAt) : null;
      return h('tr', { dataset: { run: run.id, status: run.status }, onclick: (e) => { if (!e.target.closest('a')) location.hash = href; } },
        h('td', null, badge(run.status)),
        h('td', { title: run.script, class: 'script-cell' }, h('a', { href, class: 'strong' }, fileName(run.script)), h('span', { class: 'muted path' }, run.script)),
        h('td', { class: 'mono muted nowrap' }, run.id),
        h('td', { class: 'nowrap' }, time(run.startedAt)),
        h('td', { class: 'num' }, duration(run.durationMs ?? live)),
        h('td', { class: 'error-text', title: run.error ?? '' }, h('div', { class: 'clip' }, shortError(run))));
    }));
    if (focused) body.querySelector(`tr[data-run="${CSS.escape(focused)}"] a`)?.focus();
  }

  await context.every(3000, load);
}

/** The error without the script's folder in front, which the script column already shows. */
function shortError(run) {
  if (!run.error) return '';
  return run.error.startsWith(run.script) ? fileName(run.script) + run.error.slice(run.script.length) : run.error;
}
