import { createHash } from 'node:crypto';

// Seeded random small CIBs for the scheduler's differential test against
// Pacemaker's crm_simulate (test/scheduler/differential.test.ts): 2-5 nodes
// (some offline or in standby), primitives, groups, anonymous clones,
// colocations, orders, locations, stickiness, resources running somewhere,
// failed operations with fail counts. Same seed, same CIB.
//
//   node bench/scheduler-random.mjs SEED > cib.xml

/** mulberry32: a small deterministic PRNG. */
export function rng(seed) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    next,
    int: (lo, hi) => lo + Math.floor(next() * (hi - lo + 1)),
    pick: (xs) => xs[Math.floor(next() * xs.length)],
    chance: (p) => next() < p,
  };
}

const SCORES = ['INFINITY', '-INFINITY', '100', '-100', '50', '200', '10', '-10', '1000'];

export function randomCib(seed) {
  const r = rng(seed * 2654435761 + 1);
  const N = r.int(2, 5);
  const nodes = Array.from({ length: N }, (_, i) => ({ id: String(i + 1), name: `node${i + 1}`, online: true, standby: false }));
  // At most one node down (cleanly) and one in standby.
  if (r.chance(0.25)) r.pick(nodes).online = false;
  if (r.chance(0.15)) r.pick(nodes).standby = true;
  const up = nodes.filter((n) => n.online);

  const prims = []; // {id, parent, clone}
  const tops = []; // {id, kind, members}
  const out = [];
  const meta = (id, pairs) =>
    pairs.length ? `<meta_attributes id="${id}-meta">${pairs.map(([k, v]) => `<nvpair id="${id}-meta-${k}" name="${k}" value="${v}"/>`).join('')}</meta_attributes>` : '';
  const prim = (id, extraMeta = []) => {
    const m = [...extraMeta];
    if (r.chance(0.2)) m.push(['resource-stickiness', r.pick(['0', '50', '100', 'INFINITY'])]);
    if (r.chance(0.15)) m.push(['migration-threshold', String(r.int(1, 3))]);
    return `<primitive id="${id}" class="ocf" provider="pacemaker" type="Dummy">${meta(id, m)}<operations><op id="${id}-monitor-10s" name="monitor" interval="10s"/></operations></primitive>`;
  };
  const nPrim = r.int(1, 5);
  const nGroup = r.int(0, 2);
  const nClone = r.int(0, 2);
  let k = 0;
  const kinds = [...Array(nPrim).fill('primitive'), ...Array(nGroup).fill('group'), ...Array(nClone).fill('clone')];
  // Shuffle the kinds so resource order varies.
  for (let i = kinds.length - 1; i > 0; i--) {
    const j = r.int(0, i);
    [kinds[i], kinds[j]] = [kinds[j], kinds[i]];
  }
  for (const kind of kinds) {
    k++;
    if (kind === 'primitive') {
      const id = `rsc${k}`;
      out.push(prim(id));
      prims.push({ id, clone: false });
      tops.push({ id, kind });
    } else if (kind === 'group') {
      const id = `grp${k}`;
      const members = Array.from({ length: r.int(2, 3) }, (_, i) => `g${k}m${i + 1}`);
      out.push(`<group id="${id}">${members.map((m) => prim(m)).join('')}</group>`);
      for (const m of members) prims.push({ id: m, clone: false, group: id });
      tops.push({ id, kind, members });
    } else {
      const id = `cln${k}`;
      const child = `c${k}`;
      const m = [];
      if (r.chance(0.4)) m.push(['clone-max', String(r.int(1, N))]);
      if (r.chance(0.2)) m.push(['interleave', 'true']);
      out.push(`<clone id="${id}">${meta(id, m)}${prim(child)}</clone>`);
      prims.push({ id: child, clone: true, max: m.find(([n]) => n === 'clone-max')?.[1] });
      tops.push({ id, kind });
    }
  }
  const cons = [];
  const nLoc = r.int(0, 3);
  for (let i = 0; i < nLoc; i++) {
    const t = r.pick(tops);
    cons.push(`<rsc_location id="loc${i}" rsc="${t.id}" node="${r.pick(nodes).name}" score="${r.pick(SCORES)}"/>`);
  }
  const nCol = tops.length > 1 ? r.int(0, 3) : 0;
  for (let i = 0; i < nCol; i++) {
    const a = r.pick(tops);
    const b = r.pick(tops.filter((t) => t !== a));
    cons.push(`<rsc_colocation id="col${i}" rsc="${a.id}" with-rsc="${b.id}" score="${r.pick(['INFINITY', 'INFINITY', '-INFINITY', '100', '500', '-50'])}"/>`);
  }
  const nOrd = tops.length > 1 ? r.int(0, 3) : 0;
  for (let i = 0; i < nOrd; i++) {
    // first before then in resource order: no ordering cycles (Pacemaker 2.1.5 gives up on those).
    const ai = r.int(0, tops.length - 2);
    const a = tops[ai];
    const b = tops[r.int(ai + 1, tops.length - 1)];
    cons.push(`<rsc_order id="ord${i}" first="${a.id}" then="${b.id}" kind="${r.pick(['Mandatory', 'Mandatory', 'Optional'])}"/>`);
  }

  // Running state: each primitive (or clone instance) on a node, with a
  // start and a monitor; some failed monitors or starts with fail counts.
  const hist = new Map(nodes.map((n) => [n.name, []]));
  const attrs = new Map(nodes.map((n) => [n.name, []]));
  let call = 10;
  const groupHome = new Map();
  for (const p of prims) {
    if (p.clone) {
      let inst = 0;
      for (const n of up) {
        if (!r.chance(0.6)) continue;
        const lid = `${p.id}:${inst++}`;
        hist.get(n.name).push(history(lid, p.id, r, () => call++, attrs.get(n.name)));
      }
      continue;
    }
    if (!r.chance(0.6) || up.length === 0) continue;
    let n = r.pick(up);
    if (p.group) {
      if (!groupHome.has(p.group)) groupHome.set(p.group, n);
      n = groupHome.get(p.group);
    }
    hist.get(n.name).push(history(p.id, p.id, r, () => call++, attrs.get(n.name)));
  }

  const opts = [
    ['stonith-enabled', 'false'],
    ['fencing-enabled', 'false'],
  ];
  if (r.chance(0.3)) opts.push(['symmetric-cluster', 'true']);
  const defaults = r.chance(0.4) ? `<rsc_defaults><meta_attributes id="rsc-options"><nvpair id="rsc-options-resource-stickiness" name="resource-stickiness" value="${r.pick(['1', '10', '100', '1000'])}"/></meta_attributes></rsc_defaults>` : '';
  const xml = [];
  xml.push(`<cib admin_epoch="0" epoch="1" num_updates="1" validate-with="pacemaker-3.0" crm_feature_set="3.0.14" have-quorum="1" dc-uuid="${up[0]?.id ?? '1'}" execution-date="1700000000">`);
  xml.push('<configuration><crm_config><cluster_property_set id="cib-bootstrap-options">');
  xml.push(opts.map(([n, v]) => `<nvpair id="opt-${n}" name="${n}" value="${v}"/>`).join(''));
  xml.push('</cluster_property_set></crm_config><nodes>');
  for (const n of nodes) {
    const sb = n.standby ? `<instance_attributes id="nodes-${n.id}"><nvpair id="nodes-${n.id}-standby" name="standby" value="on"/></instance_attributes>` : '';
    xml.push(`<node id="${n.id}" uname="${n.name}">${sb}</node>`);
  }
  xml.push(`</nodes><resources>${out.join('')}</resources><constraints>${cons.join('')}</constraints>${defaults}</configuration><status>`);
  for (const n of nodes) {
    if (!n.online) {
      xml.push(`<node_state id="${n.id}" uname="${n.name}" in_ccm="false" crmd="offline" join="down" expected="down"/>`);
      continue;
    }
    const ta = attrs.get(n.name);
    const tattrs = ta.length ? `<transient_attributes id="${n.id}"><instance_attributes id="status-${n.id}">${ta.map(([a, v]) => `<nvpair id="status-${n.id}-${a}" name="${a}" value="${v}"/>`).join('')}</instance_attributes></transient_attributes>` : '';
    xml.push(`<node_state id="${n.id}" uname="${n.name}" in_ccm="true" crmd="online" join="member" expected="member">${tattrs}<lrm id="${n.id}"><lrm_resources>${hist.get(n.name).join('')}</lrm_resources></lrm></node_state>`);
  }
  xml.push('</status></cib>');
  return xml.join('\n');
}

/** One resource's history on a node: running (start + monitor), or a failure. */
function history(lid, rscId, r, nextCall, attrs) {
  // The digest of the (empty) parameters, as recorded for one-shot operations, so no "definition change" restarts.
  const digest = (interval) => (interval === 0 ? ` op-digest="${createHash('md5').update(' <parameters/>\n').digest('hex')}"` : '');
  const op = (task, interval, rc, expected, id) =>
    `<lrm_rsc_op id="${id}"${digest(interval)} operation_key="${lid}_${task}_${interval}" operation="${task}" transition-key="1:1:${expected}:00000000-0000-0000-0000-000000000000" transition-magic="0:${rc};1:1:${expected}:00000000-0000-0000-0000-000000000000" call-id="${nextCall()}" rc-code="${rc}" op-status="0" interval="${interval}" last-rc-change="1699999000" exec-time="10" queue-time="0"/>`;
  const ops = [];
  const fail = r.next();
  if (fail < 0.1) {
    // A failed start: the resource is stopped there, with a fail count.
    ops.push(op('start', 0, 1, 0, `${lid}_last_0`));
    ops.push(op('start', 0, 1, 0, `${lid}_last_failure_0`));
    attrs.push([`fail-count-${rscId}#start_0`, 'INFINITY'], [`last-failure-${rscId}#start_0`, '1699999000']);
  } else {
    ops.push(op('start', 0, 0, 0, `${lid}_last_0`));
    if (fail < 0.25) {
      // A failed monitor: the resource needs recovery.
      ops.push(op('monitor', 10000, 7, 0, `${lid}_monitor_10000`));
      ops.push(op('monitor', 10000, 7, 0, `${lid}_last_failure_0`));
      attrs.push([`fail-count-${rscId}#monitor_10000`, String(r.int(1, 3))], [`last-failure-${rscId}#monitor_10000`, '1699999000']);
    } else {
      ops.push(op('monitor', 10000, 0, 0, `${lid}_monitor_10000`));
    }
  }
  return `<lrm_resource id="${lid}" class="ocf" provider="pacemaker" type="Dummy">${ops.join('')}</lrm_resource>`;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  process.stdout.write(randomCib(Number(process.argv[2] ?? 1)) + '\n');
}
