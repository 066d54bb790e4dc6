/**
 * The console's one page: plain HTML, CSS and a small script (no framework,
 * no build step, a few KB). It listens to /api/events (server-sent events:
 * a push on every cluster change) and renders crm_mon's JSON tree in
 * Pacemaker's terms. Actions ask for confirmation, then POST with the
 * session's CSRF token.
 */

export function escapeHtml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');
}

const CSS = `
body{font:14px/1.4 system-ui,sans-serif;margin:0;color:#222;background:#f6f7f9}
header{background:#1f3a5f;color:#fff;padding:8px 16px;display:flex;gap:24px;align-items:center}
header b{font-size:16px} .ok{color:#2e7d32} .bad{color:#c62828} header .ok,header .bad{color:#fff;padding:1px 8px;border-radius:8px}
header .ok{background:#2e7d32} header .bad{background:#c62828}
main{padding:12px 16px;display:grid;grid-template-columns:1fr 1fr;gap:12px}
section{background:#fff;border:1px solid #dde;border-radius:6px;padding:8px 12px}
section.wide{grid-column:1/3} h2{font-size:15px;margin:4px 0 8px}
table{border-collapse:collapse;width:100%} td,th{text-align:left;padding:3px 6px;border-bottom:1px solid #eee;vertical-align:top}
button{font-size:12px;margin:0 2px;padding:1px 6px} pre{white-space:pre-wrap;font-size:12px;margin:0;max-height:340px;overflow:auto}
.muted{color:#888} #msg{min-height:1.2em} .me{margin-left:auto}
`;

const SCRIPT = `
const csrf = document.querySelector('meta[name=csrf]').content;
const $ = (s) => document.querySelector(s);
const esc = (s) => String(s ?? '').replace(/[&<>"']/g, (c) => ({'&':'&amp;','<':'&lt;','>':'&gt;','"':'&quot;',"'":'&#39;'}[c]));
const list = (x) => Array.isArray(x) ? x : [];
let last = null, configVersion = '';
function nodeState(n) {
  if (n.unclean) return 'UNCLEAN';
  if (!n.online) return 'OFFLINE';
  if (n.standby) return 'standby';
  if (n.maintenance) return 'maintenance';
  return 'online';
}
function btn(action, args, label) {
  return '<button data-action="' + action + '" data-args="' + esc(JSON.stringify(args)) + '">' + label + '</button>';
}
function resRows(r, parent) {
  const nodes = list(r.node).map((n) => n.name).join(' ');
  const role = r.role + (r.failed ? ' (FAILED)' : '') + (r.managed === false ? ' (unmanaged)' : '');
  return '<tr data-rsc="' + esc(r.id) + '"><td>' + esc(parent ? parent + ' / ' + r.id : r.id) + '</td><td class="muted">' + esc(r.resource_agent) +
    '</td><td class="role">' + esc(role) + '</td><td class="where">' + esc(nodes) + '</td></tr>';
}
function render(v) {
  last = v;
  const m = v.mon, s = m.summary || {};
  $('#cluster').textContent = v.clusterName;
  $('#quorum').className = v.quorate ? 'ok' : 'bad';
  $('#quorum').textContent = v.quorate ? 'quorate' : 'NO QUORUM';
  $('#dc').textContent = 'DC: ' + (v.dc || 'none');
  $('#updated').textContent = 'updated ' + new Date().toLocaleTimeString();
  const nodes = list(m.nodes && m.nodes.node);
  $('#nodes tbody').innerHTML = nodes.map((n) => '<tr data-node="' + esc(n.name) + '"><td>' + esc(n.name) + (n.is_dc ? ' (DC)' : '') +
    '</td><td class="state">' + nodeState(n) + '</td><td>' + esc(n.resources_running) + '</td><td>' +
    (n.standby ? btn('online', {node: n.name}, 'Online') : btn('standby', {node: n.name}, 'Standby')) + '</td></tr>').join('');
  const top = m.resources || {};
  const rows = [], ids = [];
  for (const r of list(top.resource)) { rows.push(resRows(r)); ids.push(r.id); }
  for (const g of list(top.group)) { ids.push(g.id); for (const r of list(g.resource)) rows.push(resRows(r, g.id)); }
  for (const c of list(top.clone)) {
    ids.push(c.id);
    for (const r of list(c.resource)) rows.push(resRows(r, c.id));
    for (const g of list(c.group)) for (const r of list(g.resource)) rows.push(resRows(r, c.id + ' / ' + g.id));
  }
  $('#resources tbody').innerHTML = rows.join('') || '<tr><td class="muted">No resources</td></tr>';
  const names = nodes.map((n) => n.name);
  $('#actions').innerHTML = ids.map((id) => '<div data-rsc="' + esc(id) + '"><b>' + esc(id) + '</b> ' + btn('start', {rsc: id}, 'Start') +
    btn('stop', {rsc: id}, 'Stop') + btn('cleanup', {rsc: id}, 'Cleanup') + btn('clear', {rsc: id}, 'Clear') +
    names.map((n) => btn('move', {rsc: id, node: n}, 'Move to ' + esc(n))).join('') + '</div>').join('');
  $('#vips tbody').innerHTML = v.vips.map((x) => '<tr data-rsc="' + esc(x.rsc) + '"><td>' + esc(x.ip) + '</td><td>' + esc(x.rsc) +
    '</td><td class="where">' + esc(x.nodes.join(' ') || 'nowhere') + '</td></tr>').join('') || '<tr><td class="muted">None</td></tr>';
  const fails = list(m.failures && m.failures.failure);
  $('#failures').innerHTML = fails.length ? fails.map((f) => '<div>' + esc(f.op_key) + ' on ' + esc(f.node) + " '" + esc(f.exitstatus) + "' (" +
    esc(f.exitcode) + '): ' + esc(f.status) + (f.exitreason ? ', ' + esc(f.exitreason) : '') + '</div>').join('') : '<span class="muted">None</span>';
  const fc = [];
  for (const n of list(m.node_history && m.node_history.node)) for (const h of list(n.resource_history)) if (h['fail-count'])
    fc.push('<div>' + esc(h.id) + ' on ' + esc(n.name) + ': fail-count=' + esc(h['fail-count']) + ', migration-threshold=' + esc(h['migration-threshold']) + '</div>');
  $('#failcounts').innerHTML = fc.join('') || '<span class="muted">None</span>';
  $('#fencing').innerHTML = v.fencing.map((f) => '<div>' + esc(f.action) + ' of ' + esc(f.target) + (f.by ? ' by ' + esc(f.by) : '') +
    ' for ' + esc(f.origin) + ': ' + esc(f.state) + (f.reason ? ' (' + esc(f.reason) + ')' : '') +
    (f.at ? ', ' + new Date(f.at * 1000).toLocaleString() : '') + '</div>').join('') || '<span class="muted">None</span>';
  $('#whatif-nodes').innerHTML = names.map((n) => '<label><input type="checkbox" value="' + esc(n) + '"> ' + esc(n) + '</label> ').join('');
  if (v.version !== configVersion) { configVersion = v.version; loadConfig(); }
}
async function loadConfig() {
  const r = await fetch('/api/config');
  $('#config').textContent = r.ok ? await r.text() : 'cannot load the configuration (' + r.status + ')';
}
async function post(url, body) {
  const r = await fetch(url, {method: 'POST', headers: {'content-type': 'application/json', 'x-csrf-token': csrf}, body: JSON.stringify(body)});
  const t = await r.text();
  let j; try { j = JSON.parse(t); } catch { j = {error: t}; }
  if (!r.ok) throw new Error(j.error || r.statusText);
  return j;
}
document.addEventListener('click', async (e) => {
  const b = e.target.closest('button[data-action]');
  if (!b) return;
  const args = JSON.parse(b.dataset.args);
  const what = b.dataset.action + ' ' + Object.values(args).join(' ');
  if (!confirm('Really ' + what + '?')) return;
  $('#msg').textContent = what + ' ...';
  try { const j = await post('/api/action', Object.assign({action: b.dataset.action}, args)); $('#msg').textContent = what + ': done ' + (j.output || ''); }
  catch (err) { $('#msg').textContent = what + ': ' + err.message; }
});
$('#whatif-run').addEventListener('click', async () => {
  const down = [...document.querySelectorAll('#whatif-nodes input:checked')].map((i) => i.value);
  try { $('#whatif').textContent = (await post('/api/whatif', {down})).text; } catch (err) { $('#whatif').textContent = err.message; }
});
function connect() {
  const es = new EventSource('/api/events');
  es.onmessage = (e) => render(JSON.parse(e.data));
  es.onopen = () => { $('#conn').textContent = 'live'; };
  es.onerror = () => { $('#conn').textContent = 'reconnecting'; };
}
connect();
`;

export function consolePage(opts: { csrf: string; nonce: string; title: string; user: string }): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(opts.title)}</title>
<meta name="csrf" content="${escapeHtml(opts.csrf)}">
<style nonce="${opts.nonce}">${CSS}</style></head>
<body>
<header><b id="cluster">${escapeHtml(opts.title)}</b><span id="quorum"></span><span id="dc"></span><span id="updated"></span><span id="conn">connecting</span>
<span class="me">${escapeHtml(opts.user)}</span><form method="post" action="/logout"><input type="hidden" name="csrf" value="${escapeHtml(opts.csrf)}"><button>Log out</button></form></header>
<main>
<section><h2>Nodes</h2><table id="nodes"><thead><tr><th>Node</th><th>State</th><th>Resources</th><th></th></tr></thead><tbody></tbody></table></section>
<section><h2>Floating IPs</h2><table id="vips"><thead><tr><th>Address</th><th>Resource</th><th>Where</th></tr></thead><tbody></tbody></table>
<h2>Failed resource actions</h2><div id="failures"></div><h2>Fail counts</h2><div id="failcounts"></div>
<h2>Fencing history</h2><div id="fencing"></div></section>
<section class="wide"><h2>Resources</h2><table id="resources"><thead><tr><th>Resource</th><th>Agent</th><th>Role</th><th>Node</th></tr></thead><tbody></tbody></table>
<h2>Actions</h2><div id="msg" class="muted"></div><div id="actions"></div></section>
<section><h2>What if (nodes down)</h2><div id="whatif-nodes"></div><button id="whatif-run">Simulate</button><pre id="whatif"></pre></section>
<section><h2>Configuration (crm configure show)</h2><pre id="config"></pre></section>
</main>
<script nonce="${opts.nonce}">${SCRIPT}</script>
</body></html>
`;
}

export function loginPage(opts: { nonce: string; title: string; error?: string }): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(opts.title)}: log in</title>
<style nonce="${opts.nonce}">body{font:14px system-ui,sans-serif;display:grid;place-items:center;height:90vh}form{display:grid;gap:8px;width:260px}.bad{color:#c62828}</style></head>
<body><form method="post" action="/login"><b>${escapeHtml(opts.title)}</b>
${opts.error ? `<div class="bad">${escapeHtml(opts.error)}</div>` : ''}
<label>User <input name="user" autocomplete="username" required></label>
<label>Password <input name="password" type="password" autocomplete="current-password" required></label>
<button>Log in</button></form></body></html>
`;
}
