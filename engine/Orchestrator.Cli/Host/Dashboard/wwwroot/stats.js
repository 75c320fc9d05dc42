// What was learned across runs: outcomes per phase, strategy and agent; the monitor's baselines.
import { getJson } from './api.js';
import { duration, fill, h, time } from './dom.js';

export async function statsView(root, context) {
  const phase = context.params.get('phase') ?? '';
  const input = h('input', { type: 'search', id: 'stats-phase', placeholder: 'Phase…', value: phase, 'aria-label': 'Filter by phase', spellcheck: 'false' });
  const content = h('div', { class: 'stack' });
  input.addEventListener('change', () => {
    history.replaceState(null, '', input.value.trim() ? `#/stats?phase=${encodeURIComponent(input.value.trim())}` : '#/stats');
    load();
  });
  fill(root, h('div', { class: 'page-head' }, h('h1', null, 'Statistics'), h('div', { class: 'filters' }, input)), content);

  async function load() {
    const query = input.value.trim() ? `?phase=${encodeURIComponent(input.value.trim())}` : '';
    const stats = await getJson(`/api/stats${query}`, context.signal);
    if (!context.active) return;
    fill(content,
      h('section', { class: 'card flush' },
        h('div', { class: 'card-head' }, h('h2', null, 'Strategy outcomes'), h('span', { class: 'muted' }, 'per phase, strategy and agent')),
        stats.outcomes.length === 0
          ? h('p', { class: 'empty' }, 'Nothing learned yet: phases record their outcomes as runs finish.')
          : h('table', { class: 'grid', id: 'outcomes-table' },
            h('thead', null, h('tr', null,
              h('th', { scope: 'col' }, 'Phase'), h('th', { scope: 'col' }, 'Strategy'), h('th', { scope: 'col' }, 'Agent'),
              h('th', { scope: 'col', class: 'num' }, 'Runs'), h('th', { scope: 'col' }, 'Success'),
              h('th', { scope: 'col', class: 'num' }, 'Items'), h('th', { scope: 'col', class: 'num' }, 'Failed items'),
              h('th', { scope: 'col', class: 'num' }, 'Mean item'), h('th', { scope: 'col' }, 'Last'))),
            h('tbody', null, stats.outcomes.map((o) => h('tr', null,
              h('td', { class: 'strong' }, o.phase), h('td', null, o.strategy), h('td', null, o.agent ?? ''),
              h('td', { class: 'num' }, String(o.runs)),
              h('td', null, meter(o.successRate)),
              h('td', { class: 'num' }, String(o.items)), h('td', { class: 'num' }, String(o.failedItems)),
              h('td', { class: 'num' }, duration(o.meanItemMs)), h('td', null, time(o.lastAt))))))),
      h('section', { class: 'card flush' },
        h('div', { class: 'card-head' }, h('h2', null, 'Monitor baselines'), h('span', { class: 'muted' }, 'what the monitor counts as normal')),
        stats.baselines.length === 0
          ? h('p', { class: 'empty' }, 'No baselines yet.')
          : h('table', { class: 'grid', id: 'baselines-table' },
            h('thead', null, h('tr', null, h('th', { scope: 'col' }, 'Metric'), h('th', { scope: 'col', class: 'num' }, 'Mean'),
              h('th', { scope: 'col', class: 'num' }, 'Std. dev.'), h('th', { scope: 'col', class: 'num' }, 'Samples'))),
            h('tbody', null, stats.baselines.map((b) => h('tr', null,
              h('td', { class: 'mono' }, b.metric), h('td', { class: 'num' }, b.mean.toFixed(2)),
              h('td', { class: 'num' }, b.stddev.toFixed(2)), h('td', { class: 'num' }, String(b.samples))))))));
  }

  await context.every(10_000, load);
}

function meter(rate) {
  const percent = Math.round((rate ?? 0) * 100);
  const bar = h('span', { class: 'meter-fill' });
  bar.style.width = `${percent}%`;
  return h('span', { class: 'meter', title: `${percent}%` }, h('span', { class: 'meter-track' }, bar), ` ${percent}%`);
}
