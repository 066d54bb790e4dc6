// Generates a Pacemaker CIB of N nodes x R resources for the scheduler bench:
// primitives, 2-member groups, anonymous clones, location / colocation /
// order constraints, half of the resources running, and a full probe history
// (every resource known on every node). Deterministic for given N and R.
export function generateCib(N, R) {
  const out = [];
  const nodes = Array.from({ length: N }, (_, i) => `node${i + 1}`);
  out.push('<cib admin_epoch="0" epoch="1" num_updates="1" validate-with="pacemaker-3.0" crm_feature_set="3.0.14" have-quorum="1" dc-uuid="1">');
  out.push('<configuration><crm_config><cluster_property_set id="cib-bootstrap-options">');
  // Both the old and the new option name: Pacemaker 2.1.5 reads the old one.
  out.push('<nvpair id="o1" name="stonith-enabled" value="false"/><nvpair id="o2" name="fencing-enabled" value="false"/>');
  out.push('</cluster_property_set></crm_config><nodes>');
  nodes.forEach((n, i) => out.push(`<node id="${i + 1}" uname="${n}"/>`));
  out.push('</nodes><resources>');
  // kinds[i]: what top-level resource i is; prims: [id, running node index or -1 or 'all']
  const prims = [];
  const tops = [];
  const mon = (id) => `<operations><op id="${id}-mon" name="monitor" interval="10s"/></operations>`;
  const prim = (id) => `<primitive id="${id}" class="ocf" provider="pacemaker" type="Dummy">${mon(id)}</primitive>`;
  for (let i = 0; i < R; i++) {
    const running = i % 2 === 0;
    const home = i % N;
    if (i % 20 === 0) {
      const id = `clone${i}`;
      out.push(`<clone id="${id}">${prim(`c${i}`)}</clone>`);
      prims.push([`c${i}`, running ? 'all' : -1]);
      tops.push({ id, kind: 'clone' });
    } else if (i % 10 === 5) {
      const id = `grp${i}`;
      out.push(`<group id="${id}">${prim(`g${i}a`)}${prim(`g${i}b`)}</group>`);
      prims.push([`g${i}a`, running ? home : -1], [`g${i}b`, running ? home : -1]);
      tops.push({ id, kind: 'group' });
    } else {
      const id = `rsc${i}`;
      out.push(prim(id));
      prims.push([id, running ? home : -1]);
      tops.push({ id, kind: 'primitive' });
    }
  }
  out.push('</resources><constraints>');
  tops.forEach((t, i) => {
    if (i % 4 === 0 && t.kind !== 'clone') out.push(`<rsc_location id="loc${i}" rsc="${t.id}" node="${nodes[i % N]}" score="100"/>`);
    if (i % 5 === 1 && i > 0 && tops[i - 1].kind !== 'clone' && t.kind !== 'clone') {
      out.push(`<rsc_colocation id="col${i}" rsc="${t.id}" with-rsc="${tops[i - 1].id}" score="INFINITY"/>`);
      out.push(`<rsc_order id="ord${i}" first="${tops[i - 1].id}" then="${t.id}" kind="Mandatory"/>`);
    }
    if (i % 50 === 3 && t.kind === 'primitive') {
      const c = tops[i - (i % 20)];
      if (c && c.kind === 'clone') {
        out.push(`<rsc_colocation id="colc${i}" rsc="${t.id}" with-rsc="${c.id}" score="INFINITY"/>`);
        out.push(`<rsc_order id="ordc${i}" first="${c.id}" then="${t.id}" kind="Optional"/>`);
      }
    }
  });
  out.push('</constraints></configuration><status>');
  nodes.forEach((n, ni) => {
    out.push(`<node_state id="${ni + 1}" uname="${n}" in_ccm="true" crmd="online" join="member" expected="member"><lrm id="${ni + 1}"><lrm_resources>`);
    let call = 1;
    for (const [id, where] of prims) {
      const lid = where === 'all' || id.startsWith('c') && where === -1 ? `${id}:${ni}` : id;
      const run = where === 'all' || where === ni;
      out.push(`<lrm_resource id="${lid}" class="ocf" provider="pacemaker" type="Dummy">`);
      out.push(`<lrm_rsc_op id="${id}_last_0" operation="${run ? 'start' : 'monitor'}" call-id="${call++}" rc-code="${run ? 0 : 7}" op-status="0" interval="0" transition-key="1:1:${run ? 0 : 7}:b"/>`);
      if (run) out.push(`<lrm_rsc_op id="${id}_monitor_10000" operation="monitor" call-id="${call++}" rc-code="0" op-status="0" interval="10000" transition-key="2:1:0:b"/>`);
      out.push('</lrm_resource>');
    }
    out.push('</lrm_resources></lrm></node_state>');
  });
  out.push('</status></cib>');
  return out.join('\n');
}
