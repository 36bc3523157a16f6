// The status page's script (served as /admin/status/app.js; plain JavaScript, no build step). It
// reads the admin API with the token the operator typed, kept in this tab's sessionStorage only,
// and redraws every 2 s. Everything shown comes from servers and clients the gateway does not
// trust (names, versions, reasons): it is written with textContent only, never parsed as HTML.
'use strict';
(() => {
  const KEY = 'mcp-fleet-admin-token';
  const EVERY_MS = 2000;
  const $ = (id) => document.getElementById(id);
  let timer;

  const text = (value) => (value === undefined || value === null || value === '' ? '–' : String(value));

  function cell(value, stateClass) {
    const td = document.createElement('td');
    td.textContent = text(value);
    if (stateClass) td.className = `state-${String(stateClass).replace(/[^a-z-]/g, '')}`;
    return td;
  }

  function fill(table, rows, empty) {
    const body = $(table).tBodies[0];
    if (rows.length === 0) {
      const td = cell(empty);
      td.className = 'empty';
      td.colSpan = $(table).tHead.rows[0].cells.length;
      rows = [[td]];
    }
    body.replaceChildren(
      ...rows.map((cells) => {
        const tr = document.createElement('tr');
        tr.append(...cells);
        return tr;
      }),
    );
  }

  async function get(path) {
    const res = await fetch(path, { headers: { authorization: `Bearer ${sessionStorage.getItem(KEY)}` }, cache: 'no-store' });
    const body = await res.json().catch(() => ({}));
    if (!res.ok) throw Object.assign(new Error(body.error || `${path} answered ${res.status}`), { status: res.status });
    return body;
  }

  const ms = (value) => (typeof value === 'number' ? `${Math.round(value)} ms` : undefined);
  const percent = (value) => (typeof value === 'number' ? `${(value * 100).toFixed(1)}%` : undefined);

  function drawServers(servers, stats) {
    const rows = [];
    for (const server of servers) {
      for (const backend of server.backends) {
        const s = (stats[server.name] || {})[backend.id] || {};
        const id = backend.identity;
        rows.push([
          cell(server.name),
          cell(server.mode),
          cell(backend.id),
          cell(backend.refused ? 'refused' : backend.state, backend.refused ? 'refused' : backend.state),
          cell(backend.health && backend.health.state, backend.health && backend.health.state),
          cell(backend.weight),
          cell(backend.transport),
          cell(id && `${id.era} / ${id.protocolVersion}`),
          cell(id && id.serverInfo && id.serverInfo.version),
          cell(backend.breaker && backend.breaker.state, backend.breaker && backend.breaker.state),
          cell(backend.tools),
          cell(s.calls),
          cell(s.calls ? percent(s.errorRate) : undefined),
          cell(ms(s.p99Ms)),
        ]);
      }
    }
    fill('servers', rows, 'no servers');
    const pooled = servers.flatMap((server) =>
      server.backends
        .filter((b) => b.pool)
        .map((b) => [
          cell(server.name),
          cell(b.id),
          cell(b.pool.size),
          cell(b.pool.inUse),
          cell(b.pool.waiters),
          cell(b.pool.reused),
          cell(b.pool.created),
          cell(b.pool.refused),
        ]),
    );
    fill('session-pools', pooled, 'no pooled upstream sessions (pool: on a shared server pools them)');
  }

  async function refresh() {
    clearTimeout(timer);
    try {
      const [info, servers, stats, pools, refusals] = await Promise.all([
        get('/admin/info'),
        get('/admin/servers'),
        get('/admin/stats?windowSec=60'),
        get('/admin/pools'),
        get('/admin/refusals'),
      ]);
      $('gateway').textContent = `gateway ${info.version}, up since ${new Date(info.startedAt).toLocaleString()}`;
      if (info.temporalUi && /^https?:\/\//.test(info.temporalUi)) {
        $('temporal').href = `${info.temporalUi.replace(/\/$/, '')}/namespaces/default/workflows`;
        $('temporal').hidden = false;
      }
      drawServers(servers.servers, stats.servers);
      fill(
        'container-pools',
        pools.pools.map((p) => [cell(p.server), cell(p.backend), cell(p.warm), cell(p.busy), cell(p.max), cell(p.waiting)]),
        'no container pools',
      );
      fill(
        'refusals',
        refusals.refusals.map((r) => [
          cell(new Date(r.at).toLocaleTimeString()),
          cell(r.kind === 'auth' ? 'the door' : 'a limit'),
          cell(r.reason),
          cell(r.server),
        ]),
        'none since the gateway started',
      );
      $('updated').textContent = `updated ${new Date().toLocaleTimeString()}`;
      show(true);
    } catch (err) {
      if (err.status === 401 || err.status === 403) return signOut(err.message);
      $('updated').textContent = `not updated: ${err.message}`;
    }
    timer = setTimeout(refresh, EVERY_MS);
  }

  function show(fleet) {
    $('fleet').hidden = !fleet;
    $('signout').hidden = !fleet;
    $('login').hidden = fleet;
  }

  function signOut(why) {
    clearTimeout(timer);
    sessionStorage.removeItem(KEY);
    $('login-error').textContent = why || '';
    show(false);
    $('token').focus();
  }

  $('login').addEventListener('submit', (event) => {
    event.preventDefault();
    sessionStorage.setItem(KEY, $('token').value);
    $('token').value = '';
    $('login-error').textContent = '';
    void refresh();
  });
  $('signout').addEventListener('click', () => signOut());

  if (sessionStorage.getItem(KEY)) void refresh();
  else signOut();
})();
