// One run's story: its step tree and timeline, live from the event stream; a step's input, output, error and
// attempts; the anomalies and adaptations; the report; cancel and resume.
import { getJson, getText, postJson, readEvents } from './api.js';
import { badge, duration, failure, fileName, fill, h, json, time, toast } from './dom.js';

/** What the engine journals on its own, under its own event name: listed apart from the script's steps. */
const NOTABLE = new Set(['anomaly', 'adaptation', 'recommendation', 'plugin-reload']);
const TERMINAL = new Set(['succeeded', 'failed', 'degraded', 'compensated']);
const LANE_ROW_PX = 20;
/** A run of thousands of steps keeps a timeline a browser can draw. */
const MAX_BARS = 2000;

export async function runView(root, context, runId) {
  const base = `/api/runs/${encodeURIComponent(runId)}`;
  let run = await getJson(base, context.signal);
  const steps = new Map();
  const notable = [];
  let selected = context.params.get('step');
  let ended = run.status !== 'running';
  let frame = 0;
  let lastDraw = 0;
  let lastId = null;

  const head = h('div', { class: 'page-head run-head' });
  const tree = h('ul', { class: 'tree', id: 'step-tree', role: 'list' });
  const counts = h('span', { class: 'muted', id: 'step-counts' });
  const detail = h('section', { class: 'card detail', id: 'step-detail', 'aria-live': 'polite', 'aria-label': 'Step detail' });
  const timeline = h('div', { class: 'timeline', id: 'timeline' });
  const notableList = h('section', { class: 'card', id: 'notable', hidden: true });
  const report = h('section', { class: 'card', id: 'report', hidden: true });

  fill(root,
    h('nav', { class: 'crumbs', 'aria-label': 'Breadcrumb' }, h('a', { href: '#/runs' }, 'Runs'), ' / ', h('span', null, runId)),
    head,
    h('section', { class: 'card' },
      h('div', { class: 'card-head' }, h('h2', null, 'Timeline'), h('span', { class: 'muted' }, 'start offset and duration; parallel branches in lanes of their own')),
      timeline),
    h('div', { class: 'split' },
      h('section', { class: 'card tree-card', 'aria-label': 'Steps' },
        h('div', { class: 'card-head' }, h('h2', null, 'Steps'), counts),
        tree),
      detail),
    notableList,
    report);

  tree.addEventListener('keydown', (event) => {
    if (event.key !== 'ArrowDown' && event.key !== 'ArrowUp') return;
    const rows = [...tree.querySelectorAll('.step-row')];
    const at = rows.indexOf(document.activeElement);
    const next = rows[at + (event.key === 'ArrowDown' ? 1 : -1)];
    if (next) {
      event.preventDefault();
      next.focus();
    }
  });

  renderHead();
  renderDetail();
  follow();
  const ticker = setInterval(() => { if (!context.active) clearInterval(ticker); else if (!ended) schedule(); }, 1000);

  /** Reads the event stream from the first event, and again after the last one seen if the connection drops. */
  async function follow() {
    while (context.active) {
      try {
        for await (const event of readEvents(`${base}/events`, lastId, context.signal)) {
          if (event.id) lastId = event.id;
          if (event.event === 'end') {
            await onEnd();
            return;
          }
          onEvent(event.event, event.data);
        }
      } catch (error) {
        if (!context.handle(error)) return;
      }
      await new Promise((resolve) => setTimeout(resolve, 2000));
    }
  }

  function onEvent(name, e) {
    if (NOTABLE.has(name)) {
      if (e.event !== 'started') addNotable(name, e);
      if (!e.parentId) return;
    }
    let node = steps.get(e.stepId);
    if (!node) {
      node = { id: e.stepId, parentId: e.parentId, name: e.name, kind: e.kind, agent: e.agent, seq: e.seq, attempts: [], children: [], status: 'running' };
      steps.set(node.id, node);
      const parent = e.parentId ? steps.get(e.parentId) : null;
      if (parent) parent.children.push(node);
      node.el = makeRow(node);
      (parent ? parent.el.list : tree).append(node.el.item);
    }
    if (e.event === 'started') {
      node.status = 'running';
      node.input = e.payload;
      node.startedAt ??= e.at;
      node.endedAt = null;
      node.attempt = e.attempt;
      node.attempts.push({ attempt: e.attempt, startedAt: e.at, status: 'running' });
    } else if (TERMINAL.has(e.event)) {
      node.status = e.event;
      node.endedAt = e.at;
      node.output = e.payload;
      node.error = e.error;
      const attempt = node.attempts[node.attempts.length - 1];
      if (attempt) Object.assign(attempt, { endedAt: e.at, status: e.event, error: e.error });
    }
    updateRow(node);
    if (selected === node.id) renderDetail();
    schedule();
  }

  async function onEnd() {
    ended = true;
    run = await getJson(base, context.signal);
    renderHead();
    schedule();
  }

  /** Redraws the timeline and the counts at most five times a second, however fast events come. */
  function schedule() {
    if (frame) return;
    const wait = Math.max(0, lastDraw + 200 - performance.now());
    frame = setTimeout(() => requestAnimationFrame(() => {
      frame = 0;
      lastDraw = performance.now();
      if (!context.active) return;
      renderTimeline();
      renderCounts();
    }), wait);
  }

  function makeRow(node) {
    const status = h('span', { class: 'step-status' });
    const took = h('span', { class: 'step-took num' });
    const attempts = h('span', { class: 'step-attempts', hidden: true });
    const button = h('button', {
      type: 'button',
      class: 'step-row',
      dataset: { step: node.id },
      title: node.id,
      onclick: () => select(node.id),
    },
    h('span', { class: 'dot', 'aria-hidden': 'true' }),
    h('span', { class: 'step-name' }, node.name),
    h('span', { class: 'step-kind muted' }, node.agent ? `${node.kind} · ${node.agent}` : node.kind),
    attempts, status, took);
    const list = h('ul', { role: 'list' });
    const item = h('li', null, button, list);
    return { item, button, list, status, took, attempts };
  }

  function updateRow(node) {
    const { button, status, took, attempts } = node.el;
    button.dataset.status = node.status;
    status.textContent = node.status;
    took.textContent = node.endedAt ? duration(Date.parse(node.endedAt) - Date.parse(node.startedAt)) : '';
    attempts.hidden = node.attempts.length < 2;
    attempts.textContent = `×${node.attempts.length}`;
    button.setAttribute('aria-label', `${node.name}, ${node.kind}, ${node.status}`);
    button.classList.toggle('selected', node.id === selected);
  }

  function select(id) {
    const previous = steps.get(selected);
    selected = id;
    if (previous) updateRow(previous);
    const node = steps.get(id);
    if (node) updateRow(node);
    history.replaceState(null, '', `#/runs/${encodeURIComponent(runId)}?step=${encodeURIComponent(id)}`);
    renderDetail();
  }

  function renderHead() {
    const actions = h('div', { class: 'actions' });
    if (run.status === 'running') {
      actions.append(h('button', { type: 'button', class: 'danger', id: 'cancel-run', onclick: () => act('cancel', 'Cancel requested: the run ends cancelled and can be resumed.') }, 'Cancel'));
    }
    if (['interrupted', 'cancelled', 'failed'].includes(run.status)) {
      actions.append(h('button', { type: 'button', id: 'resume-run', onclick: () => act('resume', 'Resumed: finished steps are replayed from the journal.') }, 'Resume'));
    }
    if (run.report) {
      actions.append(h('button', { type: 'button', id: 'show-report', onclick: showReport }, 'Report'));
    }
    fill(head,
      h('div', null,
        h('h1', null, fileName(run.script), ' ', badge(run.status)),
        h('div', { class: 'meta' },
          h('span', { class: 'mono' }, run.id), ' · ', h('span', { title: run.script }, run.script), ' · ', run.language,
          ' · started ', time(run.startedAt),
          run.durationMs !== null && run.durationMs !== undefined ? [' · took ', duration(run.durationMs)] : null)),
      actions);
    if (run.error) {
      head.append(h('div', { class: 'run-error', role: 'alert' }, h('strong', null, 'Error: '), run.error));
    }
    head.append(h('div', { class: 'io' },
      h('details', null, h('summary', null, 'Input'), json(run.input)),
      h('details', { open: ended && run.result !== undefined && run.result !== null }, h('summary', null, 'Result'), json(run.result))));
  }

  async function act(verb, done) {
    try {
      await postJson(`${base}/${verb}`, verb === 'resume' ? { force: false } : null, context.signal);
      toast(done);
      if (verb === 'resume') {
        // The stream picks the new attempt up from where it left off.
        ended = false;
        run = await getJson(base, context.signal);
        renderHead();
        follow();
      }
    } catch (error) {
      if (context.handle(error)) toast(error.message, true);
    }
  }

  async function showReport() {
    report.hidden = false;
    try {
      const html = await getText(`${base}/report`, context.signal);
      const download = h('a', { href: URL.createObjectURL(new Blob([html], { type: 'text/html' })), download: `${runId}.html` }, 'Download');
      // The report shows step data: sandboxed, it runs no script and reaches nothing.
      fill(report,
        h('div', { class: 'card-head' }, h('h2', null, 'Report'), download),
        h('iframe', { class: 'report-frame', sandbox: '', title: `Report of run ${runId}`, srcdoc: html }));
      report.scrollIntoView({ block: 'start' });
    } catch (error) {
      if (context.handle(error)) fill(report, failure(error));
    }
  }

  function addNotable(name, e) {
    notable.push({ name, e });
    notableList.hidden = false;
    fill(notableList,
      h('div', { class: 'card-head' }, h('h2', null, 'Anomalies and adaptations'), h('span', { class: 'muted' }, `${notable.length}`)),
      h('table', { class: 'grid' },
        h('thead', null, h('tr', null, h('th', null, 'What'), h('th', null, 'Name'), h('th', null, 'At'), h('th', null, 'Detail'))),
        h('tbody', null, notable.map(({ name: kind, e: item }) => h('tr', { dataset: { kind } },
          h('td', null, h('span', { class: `badge k-${kind}` }, kind)),
          h('td', null, item.name),
          h('td', null, time(item.at)),
          h('td', null, json(item.payload)))))));
  }

  function renderCounts() {
    const byStatus = {};
    for (const node of steps.values()) byStatus[node.status] = (byStatus[node.status] ?? 0) + 1;
    counts.textContent = [`${steps.size} steps`, ...Object.entries(byStatus).map(([s, n]) => `${n} ${s}`)].join(' · ');
  }

  function renderDetail() {
    const node = steps.get(selected);
    if (!node) {
      fill(detail, h('p', { class: 'muted' }, 'Select a step to see its input, output, error and attempts.'));
      return;
    }
    const took = node.endedAt ? Date.parse(node.endedAt) - Date.parse(node.startedAt) : null;
    fill(detail,
      h('div', { class: 'card-head' }, h('h2', { class: 'title' }, node.name), badge(node.status)),
      h('dl', { class: 'facts' },
        h('dt', null, 'Step'), h('dd', { class: 'mono' }, node.id),
        h('dt', null, 'Kind'), h('dd', null, node.kind),
        node.agent ? [h('dt', null, 'Agent'), h('dd', null, node.agent)] : null,
        h('dt', null, 'Started'), h('dd', null, time(node.startedAt)),
        h('dt', null, 'Duration'), h('dd', null, took === null ? 'running' : duration(took)),
        h('dt', null, 'Attempt'), h('dd', null, String(node.attempt ?? 1))),
      node.error ? h('div', { class: 'step-error', role: 'alert' }, h('h3', null, 'Error'), h('pre', { class: 'error-text' }, node.error)) : null,
      node.attempts.length > 1 || node.attempts.some((a) => a.status === 'failed')
        ? h('div', null, h('h3', null, 'Attempts and recovery'),
          h('table', { class: 'grid compact' },
            h('thead', null, h('tr', null, h('th', null, '#'), h('th', null, 'Started'), h('th', null, 'Took'), h('th', null, 'Outcome'), h('th', null, 'Error'))),
            h('tbody', null, node.attempts.map((a) => h('tr', null,
              h('td', null, String(a.attempt)),
              h('td', null, time(a.startedAt)),
              h('td', { class: 'num' }, a.endedAt ? duration(Date.parse(a.endedAt) - Date.parse(a.startedAt)) : ''),
              h('td', null, badge(a.status)),
              h('td', { class: 'error-text' }, a.error ?? ''))))))
        : null,
      h('h3', null, 'Input'), json(node.input),
      h('h3', null, 'Output'), json(node.output));
  }

  /** Leaf steps as bars, by start offset and duration; each parallel branch is a lane, overlapping bars in one lane stack. */
  function renderTimeline() {
    const nodes = [...steps.values()].filter((n) => n.startedAt);
    if (nodes.length === 0) {
      fill(timeline, h('p', { class: 'muted' }, ended ? 'No steps.' : 'Waiting for the first step…'));
      return;
    }
    const start = Math.min(Date.parse(run.startedAt), ...nodes.map((n) => Date.parse(n.startedAt)));
    const now = Date.now();
    const endOf = (n) => (n.endedAt ? Date.parse(n.endedAt) : ended ? Date.parse(run.endedAt ?? n.startedAt) : now);
    const end = Math.max(...nodes.map(endOf), run.endedAt ? Date.parse(run.endedAt) : ended ? start : now);
    const span = Math.max(end - start, 1);

    const leaves = nodes.filter((n) => n.children.length === 0).sort((a, b) => a.seq - b.seq);
    const lanes = new Map();
    for (const node of leaves.slice(0, MAX_BARS)) {
      const branch = laneOf(node);
      if (!lanes.has(branch?.id ?? '')) lanes.set(branch?.id ?? '', { branch, bars: [] });
      lanes.get(branch?.id ?? '').bars.push(node);
    }

    const ordered = [...lanes.values()].sort((a, b) => (a.branch?.seq ?? 0) - (b.branch?.seq ?? 0));
    const ticks = [0, 0.25, 0.5, 0.75, 1].map((f) => h('span', { class: 'tick', style: `left:${f * 100}%` }, duration(span * f)));
    fill(timeline,
      h('div', { class: 'lane axis' }, h('div', { class: 'lane-label' }), h('div', { class: 'lane-track' }, ticks)),
      ordered.map(({ branch, bars }) => {
        const rows = [];
        const track = h('div', { class: 'lane-track' });
        for (const node of bars) {
          const from = Date.parse(node.startedAt) - start;
          const to = endOf(node) - start;
          let row = rows.findIndex((last) => last <= from);
          if (row < 0) row = rows.push(to) - 1;
          else rows[row] = to;
          const bar = h('div', {
            class: 'bar',
            dataset: { step: node.id, status: node.status },
            title: `${node.id} · ${node.status} · ${duration(to - from)} (from +${duration(from)})`,
            onclick: () => select(node.id),
          }, node.name);
          bar.style.left = `${(from / span) * 100}%`;
          bar.style.width = `max(3px, ${((to - from) / span) * 100}%)`;
          bar.style.top = `${row * LANE_ROW_PX + 2}px`;
          track.append(bar);
        }
        track.style.height = `${Math.max(rows.length, 1) * LANE_ROW_PX + 4}px`;
        return h('div', { class: 'lane', dataset: { lane: branch?.id ?? 'main' } },
          h('div', { class: 'lane-label', title: branch?.id ?? 'the run' }, branch ? branch.id : 'main'),
          track);
      }),
      leaves.length > MAX_BARS ? h('p', { class: 'muted' }, `The first ${MAX_BARS} of ${leaves.length} steps are drawn; the step tree lists them all.`) : null);
  }

  function laneOf(node) {
    for (let parent = steps.get(node.parentId); parent; parent = steps.get(parent.parentId)) {
      if (parent.kind === 'branch') return parent;
    }
    return null;
  }
}
