// Whether the system is healthy: the cluster's nodes (serve --cluster; a host on its own has no Nodes card), agents
// with their circuits and steps in flight, MCP servers, connectors, runs in flight.
import { getJson } from './api.js';
import { badge, fileName, fill, h, time } from './dom.js';

const IN_FLIGHT_ON_A_NODE = "Steps of this node's runs in flight, wherever they run; the Nodes card counts the steps each node runs.";

export async function systemView(root, context) {
  const content = h('div', { class: 'stack' });
  fill(root, h('div', { class: 'page-head' }, h('h1', null, 'System')), content);

  await context.every(3000, async () => {
    const system = await getJson('/api/system', context.signal);
    if (!context.active) return;
    // The page is rebuilt on each refresh: focus stays on the link it was on (a node, a run).
    const focused = content.contains(document.activeElement) ? document.activeElement.getAttribute('href') : null;
    // On a node of a cluster the agents and runs in flight below are this node's; the Nodes card has the others.
    const here = system.nodes ? ' on this node' : '';
    fill(content,
      system.nodes ? nodesCard(system) : null,
      h('section', { class: 'card flush' },
        h('div', { class: 'card-head' }, h('h2', null, `Agents${here}`), h('span', { class: 'muted' }, `${system.agents.length}`)),
        h('table', { class: 'grid', id: 'agents-table' },
          h('thead', null, h('tr', null,
            h('th', { scope: 'col' }, 'Agent'), h('th', { scope: 'col' }, 'Circuit'),
            h('th', { scope: 'col', class: 'num', title: system.nodes ? IN_FLIGHT_ON_A_NODE : null }, 'In flight'),
            h('th', { scope: 'col', class: 'num' }, 'Successes'), h('th', { scope: 'col', class: 'num' }, 'Failures'), h('th', { scope: 'col' }, 'Plugin'))),
          h('tbody', null, system.agents.map((a) => h('tr', { dataset: { agent: a.kind } },
            h('td', { class: 'strong' }, a.kind),
            h('td', null, badge(a.circuit)),
            h('td', { class: 'num' }, String(a.inFlight)),
            h('td', { class: 'num' }, String(a.successes)),
            h('td', { class: 'num' }, String(a.failures)),
            h('td', { class: 'muted', title: a.plugin ?? '' }, fileName(a.plugin) || 'built in')))))),
      h('section', { class: 'card flush' },
        h('div', { class: 'card-head' }, h('h2', null, 'MCP servers'), h('span', { class: 'muted' }, `${system.mcpServers.length}`)),
        system.mcpServers.length === 0
          ? h('p', { class: 'empty' }, 'No MCP servers configured (mcp.json in the store or scripts folder).')
          : h('table', { class: 'grid', id: 'mcp-table' },
            h('thead', null, h('tr', null,
              h('th', { scope: 'col' }, 'Server'), h('th', { scope: 'col' }, 'Health'), h('th', { scope: 'col' }, 'Tools'),
              h('th', { scope: 'col', class: 'num' }, 'Outstanding'), h('th', { scope: 'col', class: 'num' }, 'Calls'),
              h('th', { scope: 'col', class: 'num' }, 'Failures'), h('th', { scope: 'col' }, 'Last error'))),
            h('tbody', null, system.mcpServers.map((s) => h('tr', null,
              h('td', { class: 'strong' }, s.name),
              h('td', null, badge(s.health)),
              h('td', { class: 'muted' }, s.tools.join(', ')),
              h('td', { class: 'num' }, String(s.outstanding)),
              h('td', { class: 'num' }, String(s.calls)),
              h('td', { class: 'num' }, String(s.failures)),
              h('td', { class: 'error-text' }, s.lastError ?? '')))))),
      h('div', { class: 'columns' },
        h('section', { class: 'card' },
          h('div', { class: 'card-head' }, h('h2', null, 'Connectors'), h('span', { class: 'muted' }, `${system.connectors.length}`)),
          system.connectors.length === 0
            ? h('p', { class: 'empty' }, 'No connectors declared.')
            : h('ul', { class: 'plain', id: 'connectors' }, system.connectors.map((c) => h('li', null, c)))),
        h('section', { class: 'card' },
          h('div', { class: 'card-head' }, h('h2', null, `Runs in flight${here}`), h('span', { class: 'muted' }, `${system.runsInFlight.length}`)),
          system.runsInFlight.length === 0
            ? h('p', { class: 'empty' }, 'Nothing running.')
            : h('ul', { class: 'plain' }, system.runsInFlight.map((r) => h('li', null,
              h('a', { href: `#/runs/${encodeURIComponent(r.id)}` }, fileName(r.script)), ' ', h('span', { class: 'muted' }, 'since '), time(r.startedAt)))))),
      h('p', { class: 'muted' }, 'Scripts are taken from ', h('code', null, system.scripts), '.'));
    if (focused) [...content.querySelectorAll('a[href]')].find((a) => a.getAttribute('href') === focused)?.focus();
  });
}

/**
 * The cluster's live nodes, this one marked: where each is, since when, the runs it owns and its agent steps in flight.
 * Another node's name opens its own dashboard (its token is asked for there: each origin keeps its own).
 */
function nodesCard(system) {
  return h('section', { class: 'card flush', id: 'nodes', 'aria-labelledby': 'nodes-title' },
    h('div', { class: 'card-head' }, h('h2', { id: 'nodes-title' }, 'Nodes'), h('span', { class: 'muted' }, `${system.nodes.length} live · this is ${system.node}`)),
    system.nodes.length === 0
      ? h('p', { class: 'empty' }, 'No live node listed yet: this node is still joining the cluster.')
      : h('table', { class: 'grid', id: 'nodes-table' },
        h('thead', null, h('tr', null,
          h('th', { scope: 'col' }, 'Node'), h('th', { scope: 'col' }, 'Address'), h('th', { scope: 'col' }, 'Up since'),
          h('th', { scope: 'col', class: 'num' }, 'Runs owned'), h('th', { scope: 'col', class: 'num' }, 'Agent steps in flight'),
          h('th', { scope: 'col' }, 'Agents'))),
        h('tbody', null, system.nodes.map((n) => h('tr', { dataset: { node: n.name }, 'aria-current': n.self ? 'true' : null },
          h('td', { class: 'node-name strong' },
            n.self || !dashboardOf(n) ? n.name : h('a', { href: dashboardOf(n), title: `${n.name}'s dashboard` }, n.name),
            n.self ? [' ', h('span', { class: 'tag' }, 'this node')] : null),
          h('td', { class: 'node-address mono', title: n.url ?? '' }, n.address ?? ''),
          h('td', { class: 'node-up' }, time(n.upSince)),
          h('td', { class: 'node-runs num' }, String(n.runsOwned)),
          h('td', { class: 'node-steps num' }, String(n.agentStepsInFlight)),
          h('td', { class: 'muted' }, n.agents.join(', ')))))));
}

/** A node's System page, from its HTTP address; none for an address that is not http(s). */
function dashboardOf(node) {
  try {
    const url = new URL('/#/system', node.url);
    return url.protocol === 'http:' || url.protocol === 'https:' ? url.href : null;
  } catch {
    return null;
  }
}
