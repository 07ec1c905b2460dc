/**
 * The live dashboard: one HTML page, its stylesheet and script, all served by the daemon (no
 * asset from the internet; the CSP forbids any). It reads /api/v1/checks, /api/v1/history,
 * /api/v1/events and /api/v1/panels, then follows /api/v1/stream (Server-Sent Events, read with
 * fetch so that it can carry the bearer token). Every status is a word as well as a colour; the
 * layout is one column on a phone.
 *
 * With daemon.token_file these three files are still served to anyone (they hold no host data);
 * every request for data carries `Authorization: Bearer`. The page takes the token from its URL
 * fragment (`/#token=…`, never sent to the server, removed from the address bar at once) or
 * asks for it, and keeps it in the tab's sessionStorage only.
 */

const INDEX = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>cx-ops</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/dashboard.css">
<script src="/dashboard.js" defer></script>
</head>
<body>
<header>
  <h1>cx-ops</h1>
  <p id="summary" role="status" aria-live="polite">connecting…</p>
</header>
<form id="login" hidden>
  <label for="token">This daemon needs its bearer token (the contents of daemon.token_file):</label>
  <input id="token" type="password" autocomplete="off" required>
  <button type="submit">Show the dashboard</button>
</form>
<main>
  <section aria-labelledby="checks-h"><h2 id="checks-h">Checks</h2><div id="checks"><p>waiting for the first cycle…</p></div></section>
  <section aria-labelledby="panels-h" id="panels-section" hidden><h2 id="panels-h">Panels</h2><div id="panels"></div></section>
  <section aria-labelledby="events-h"><h2 id="events-h">Recent events</h2><ol id="events" reversed></ol></section>
</main>
<footer><p id="live">live updates: <span id="conn">connecting</span> · <a href="/health">/health</a> · <a href="/metrics">/metrics</a> · <a href="/api/v1/">API</a></p></footer>
</body>
</html>
`;

const CSS = `:root { color-scheme: light dark; --pass: #1a7f37; --warn: #9a6700; --fail: #cf222e; --error: #8250df; --skip: #6e7781; }
* { box-sizing: border-box; }
body { font: 16px/1.4 system-ui, sans-serif; margin: 0 auto; max-width: 72rem; padding: 0.75rem; }
header { display: flex; flex-wrap: wrap; align-items: baseline; gap: 0 1rem; }
h1 { font-size: 1.4rem; margin: 0.2rem 0; }
h2 { font-size: 1.1rem; margin: 1rem 0 0.4rem; }
h3 { font-size: 0.95rem; margin: 0.8rem 0 0.3rem; text-transform: capitalize; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: 0.35rem 0.4rem; border-bottom: 1px solid #8884; vertical-align: top; }
td.status { font-weight: 700; white-space: nowrap; }
.status-pass { color: var(--pass); } .status-warn { color: var(--warn); } .status-fail { color: var(--fail); }
.status-error { color: var(--error); } .status-skip { color: var(--skip); }
.status-pass::before { content: "✓ "; } .status-warn::before { content: "! "; } .status-fail::before { content: "✗ "; }
.status-error::before { content: "⚠ "; } .status-skip::before { content: "– "; }
svg.spark { width: 6rem; height: 1.2rem; vertical-align: middle; }
ol#events { padding-left: 1.5rem; font-size: 0.9rem; }
ol#events li { margin: 0.15rem 0; overflow-wrap: anywhere; }
footer { font-size: 0.85rem; margin-top: 1rem; }
[hidden] { display: none !important; }
form#login { margin: 1rem 0; display: flex; flex-wrap: wrap; gap: 0.5rem; align-items: center; }
form#login label { flex-basis: 100%; }
form#login input { flex: 1 1 12rem; font: inherit; padding: 0.3rem; }
@media (max-width: 40rem) {
  table, tbody, tr, td { display: block; width: 100%; }
  thead { display: none; }
  tr { border-bottom: 1px solid #8886; padding: 0.3rem 0; }
  td { border: 0; padding: 0.1rem 0; }
  td.msg { font-size: 0.9rem; }
}
`;

const JS = `'use strict';
const $ = (id) => document.getElementById(id);
const el = (tag, props, ...kids) => { const e = document.createElement(tag); Object.assign(e, props || {}); for (const k of kids) e.append(k); return e; };
const history = new Map();
const RANK = { pass: 1, warn: 2, fail: 3, error: 4, skip: 0 };

function spark(points) {
  const ns = 'http://www.w3.org/2000/svg';
  const svg = document.createElementNS(ns, 'svg');
  svg.setAttribute('class', 'spark'); svg.setAttribute('viewBox', '0 0 60 12'); svg.setAttribute('role', 'img');
  const last = points.slice(-30);
  svg.setAttribute('aria-label', 'last ' + last.length + ' results: ' + last.map((p) => p).join(' '));
  last.forEach((s, i) => {
    const r = document.createElementNS(ns, 'rect');
    const h = 2 + 2.5 * (RANK[s] ?? 0);
    r.setAttribute('x', String(i * 2)); r.setAttribute('y', String(12 - h)); r.setAttribute('width', '1.6'); r.setAttribute('height', String(h));
    r.setAttribute('class', 'status-' + s); r.setAttribute('fill', 'currentColor');
    svg.append(r);
  });
  return svg;
}

function renderChecks(data) {
  const box = $('checks');
  box.replaceChildren();
  if (!data || !data.results || !data.results.length) { box.append(el('p', { textContent: 'waiting for the first cycle…' })); return; }
  const byCat = new Map();
  for (const r of data.results) { const c = r.category || 'other'; if (!byCat.has(c)) byCat.set(c, []); byCat.get(c).push(r); }
  for (const [cat, rows] of [...byCat].sort()) {
    box.append(el('h3', { textContent: cat }));
    const tbody = el('tbody');
    for (const r of rows) {
      const s = r.status.toLowerCase();
      const h = history.get(r.check_id) || [];
      const tr = el('tr', { id: 'check-' + r.check_id },
        el('td', { textContent: r.name + ' (' + r.check_id + ')' }),
        el('td', { className: 'status status-' + s, textContent: r.status }),
        el('td', { className: 'msg', textContent: r.message }),
        el('td', {}, spark(h)));
      tr.dataset.status = r.status;
      tbody.append(tr);
    }
    box.append(el('table', {}, el('thead', {}, el('tr', {}, ...['check', 'status', 'message', 'history'].map((t) => el('th', { scope: 'col', textContent: t })))), tbody));
  }
  const counts = {};
  for (const r of data.results) counts[r.status] = (counts[r.status] || 0) + 1;
  $('summary').textContent = (data.health ? data.health.status.toUpperCase() + ' · ' : '') + 'cycle ' + data.cycle + ' at ' + new Date(data.timestamp).toLocaleTimeString() + ' · ' +
    Object.entries(counts).map(([k, v]) => v + ' ' + k).join(', ');
}

function renderEvents(events) {
  const ol = $('events');
  ol.replaceChildren(...events.filter((e) => e.type !== 'cycle_end').slice(0, 30).map((e) => el('li', { textContent: new Date(e.ts).toLocaleTimeString() + ' ' + e.level.toUpperCase() + ' ' + e.type + (e.plugin ? ' [' + e.plugin + ']' : '') + ': ' + e.message })));
}

function renderPanels(panels) {
  const box = $('panels');
  $('panels-section').hidden = !panels.length;
  box.replaceChildren(...panels.map((p) => el('div', { className: 'panel' }, el('h3', { textContent: p.title }),
    el('table', {}, el('tbody', {}, ...(p.items || []).map((i) => el('tr', {}, el('td', { textContent: i.label }), el('td', { className: i.status ? 'status status-' + String(i.status).toLowerCase() : '', textContent: String(i.value) }))))))));
}

let events = [];
let current = null;
const TOKEN_KEY = 'cx-ops-token';
class NeedToken extends Error {}
function tokenFromFragment() {
  const m = /(?:^#|&)token=([^&]+)/.exec(location.hash);
  if (!m) return;
  sessionStorage.setItem(TOKEN_KEY, decodeURIComponent(m[1]));
  window.history.replaceState(null, '', location.pathname + location.search);
}
const auth = () => { const t = sessionStorage.getItem(TOKEN_KEY); return t ? { authorization: 'Bearer ' + t } : {}; };
function askToken() {
  $('summary').textContent = 'a bearer token is needed';
  $('conn').textContent = 'not connected';
  $('login').hidden = false;
  $('token').focus();
}
$('login').addEventListener('submit', (ev) => {
  ev.preventDefault();
  sessionStorage.setItem(TOKEN_KEY, $('token').value.trim());
  $('token').value = '';
  $('login').hidden = true;
  start();
});
// Runs in the browser (the page's own API), not in cx-ops.
async function get(path) {
  const r = await fetch(path, { headers: { accept: 'application/json', ...auth() } }); // the browser's fetch: page code
  if (r.status === 401) throw new NeedToken(path);
  if (!r.ok) throw new Error(path + ': ' + r.status);
  return r.json();
}

function addToHistory(results) {
  for (const r of results) { const h = history.get(r.check_id) || []; h.push(r.status.toLowerCase()); if (h.length > 60) h.shift(); history.set(r.check_id, h); }
}

const ON = {
  cycle: (d) => { addToHistory(d.results); current = d; renderChecks(d); },
  event: (e) => { if (e.type === 'cycle_end') return; events.unshift(e); events = events.slice(0, 200); renderEvents(events); },
  panels: (d) => renderPanels(d.panels),
};
function dispatch(block) {
  let event = 'message';
  const data = [];
  for (const line of block.split('\\n')) {
    if (line.startsWith('event:')) event = line.slice(6).trim();
    else if (line.startsWith('data:')) data.push(line.slice(5).replace(/^ /, ''));
  }
  if (data.length && ON[event]) ON[event](JSON.parse(data.join('\\n')));
}
// Server-Sent Events read with fetch (EventSource cannot send the token); reconnects after 2 s.
async function follow() {
  for (;;) {
    try {
      const r = await fetch('/api/v1/stream', { headers: { accept: 'text/event-stream', ...auth() } }); // the browser's fetch: page code
      if (r.status === 401) { askToken(); return; }
      if (!r.ok || !r.body) throw new Error('stream: ' + r.status);
      $('conn').textContent = 'connected';
      const reader = r.body.pipeThrough(new TextDecoderStream()).getReader();
      let buf = '';
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buf += value;
        let i;
        while ((i = buf.indexOf('\\n\\n')) >= 0) { dispatch(buf.slice(0, i)); buf = buf.slice(i + 2); }
      }
    } catch (e) { /* the daemon restarted or the network dropped: retry */ }
    $('conn').textContent = 'reconnecting';
    await new Promise((r) => setTimeout(r, 2000));
  }
}

async function start() {
  try {
    const [checks, hist, ev, panels] = await Promise.all([get('/api/v1/checks'), get('/api/v1/history?limit=2000'), get('/api/v1/events?limit=200'), get('/api/v1/panels')]);
    history.clear();
    for (const r of [...hist.results].reverse()) { const h = history.get(r.check_id) || []; h.push(r.status.toLowerCase()); history.set(r.check_id, h); }
    current = checks; events = ev.events; renderChecks(checks); renderEvents(events); renderPanels(panels.panels);
  } catch (e) {
    if (e instanceof NeedToken) { askToken(); return; }
    $('summary').textContent = 'could not load: ' + e.message;
  }
  follow();
}
tokenFromFragment();
start();
`;

/** The served files, by exact URL path. */
export const DASHBOARD_ASSETS: Record<string, { type: string; body: string }> = {
  '/index.html': { type: 'text/html; charset=utf-8', body: INDEX },
  '/dashboard.css': { type: 'text/css; charset=utf-8', body: CSS },
  '/dashboard.js': { type: 'text/javascript; charset=utf-8', body: JS },
};
