// What needs a human: the approvals waiting runs ask for, and the optimization loop's recommendations; both decided here.
import { getJson, postJson } from './api.js';
import { badge, fill, h, json, toast } from './dom.js';

export async function reviewsView(root, context) {
  const showAll = context.params.get('all') === 'true';
  const body = h('tbody');
  const approvals = h('tbody');
  const toggle = h('input', { type: 'checkbox', id: 'reviews-all', checked: showAll });
  toggle.addEventListener('change', () => {
    history.replaceState(null, '', toggle.checked ? '#/reviews?all=true' : '#/reviews');
    load();
  });

  fill(root,
    h('div', { class: 'page-head' },
      h('h1', null, 'Reviews'),
      h('div', { class: 'filters' }, h('label', { class: 'check' }, toggle, ' Show decided ones too'))),
    h('h2', null, 'Approvals'),
    h('p', { class: 'muted lead' }, 'Runs parked on an Approval(...): a decision continues the run on this host.'),
    h('div', { class: 'card flush' },
      h('table', { class: 'grid', id: 'approvals-table' },
        h('thead', null, h('tr', null,
          h('th', { scope: 'col' }, 'Run'),
          h('th', { scope: 'col' }, 'Asks'),
          h('th', { scope: 'col' }, 'Data'),
          h('th', { scope: 'col' }, 'Asked at'),
          h('th', { scope: 'col' }, 'Decision'))),
        approvals)),
    h('h2', null, 'Recommendations'),
    h('p', { class: 'muted lead' }, 'Recommendations the optimization loop will not apply on its own. Approved ones take effect from the next run.'),
    h('div', { class: 'card flush' },
      h('table', { class: 'grid', id: 'reviews-table' },
        h('thead', null, h('tr', null,
          h('th', { scope: 'col', class: 'num' }, '#'),
          h('th', { scope: 'col' }, 'Status'),
          h('th', { scope: 'col' }, 'Phase · strategy'),
          h('th', { scope: 'col' }, 'Kind'),
          h('th', { scope: 'col' }, 'Risk'),
          h('th', { scope: 'col' }, 'Summary'),
          h('th', { scope: 'col' }, 'Change'),
          h('th', { scope: 'col' }, 'Decision'))),
        body)));

  async function loadApprovals() {
    const asked = await getJson('/api/approvals', context.signal);
    if (!context.active) return;
    if (asked.length === 0) {
      fill(approvals, h('tr', null, h('td', { colspan: 5, class: 'empty' }, 'No run waits for an approval.')));
      return;
    }
    fill(approvals, asked.map((item) => h('tr', { dataset: { approval: `${item.runId}/${item.name}` } },
      h('td', null, h('a', { href: `#/runs/${encodeURIComponent(item.runId)}` }, item.runId)),
      h('td', null, item.name),
      h('td', null, json(item.data)),
      h('td', null, new Date(item.askedAt).toLocaleString()),
      h('td', { class: 'decide' },
        h('button', { type: 'button', class: 'primary', onclick: () => approve(item, false) }, 'Approve'),
        h('button', { type: 'button', onclick: () => approve(item, true) }, 'Reject')))));
  }

  async function approve(item, reject) {
    try {
      await postJson(`/api/runs/${encodeURIComponent(item.runId)}/approve`, { name: item.name, reject, by: 'dashboard' }, context.signal);
      toast(`${item.runId}: ${item.name} ${reject ? 'rejected' : 'approved'}`);
      window.dispatchEvent(new Event('orchestrator:reviews-changed'));
    } catch (error) {
      if (context.handle(error)) toast(error.message, true);
    }
    await loadApprovals();
  }

  async function load() {
    await loadApprovals();
    const items = await getJson(`/api/reviews${toggle.checked ? '?all=true' : ''}`, context.signal);
    if (!context.active) return;
    if (items.length === 0) {
      fill(body, h('tr', null, h('td', { colspan: 8, class: 'empty' }, 'Nothing waits for review.')));
      return;
    }
    fill(body, items.map((item) => h('tr', { dataset: { review: item.id } },
      h('td', { class: 'num' }, String(item.id)),
      h('td', null, badge(item.status)),
      h('td', null, item.phase, h('span', { class: 'muted' }, ' · ', item.strategy)),
      h('td', null, item.kind),
      h('td', null, h('span', { class: `badge r-${item.risk}` }, item.risk)),
      h('td', null, item.summary),
      h('td', null, json(item.change)),
      h('td', { class: 'decide' }, item.status === 'pending'
        ? [h('button', { type: 'button', class: 'primary', onclick: () => decide(item, 'approve') }, 'Approve'),
          h('button', { type: 'button', onclick: () => decide(item, 'reject') }, 'Reject')]
        : h('span', { class: 'muted' }, '—')))));
  }

  async function decide(item, decision) {
    try {
      const decided = await postJson(`/api/reviews/${item.id}/decide`, { decision }, context.signal);
      toast(`#${item.id} ${decided.status}: ${item.summary}`);
      window.dispatchEvent(new Event('orchestrator:reviews-changed'));
    } catch (error) {
      if (context.handle(error)) toast(error.message, true);
    }
    await load();
  }

  await context.every(5000, load);
}
