// Foundation figures: CIB XML import/export speed on the largest scheduler case,
// and `crm configure show` start-up time next to a bare `node -e ''`.
// Run after `npm run build`:  node bench/cib-crm.mjs
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const { parseCibXml, cibToXml } = await import(join(root, 'dist/cib/xml.js'));
const cases = join(root, '../shared/scheduler-cases');
const files = ['tier1', 'tier2'].flatMap((t) => readdirSync(join(cases, t)).filter((f) => f.endsWith('.xml')).map((f) => join(cases, t, f)));
const biggest = files.sort((a, b) => statSync(b).size - statSync(a).size)[0];
const text = readFileSync(biggest, 'utf8');

const time = (n, fn) => {
  for (let i = 0; i < 3; i++) fn();
  const t0 = performance.now();
  for (let i = 0; i < n; i++) fn();
  return (performance.now() - t0) / n;
};
let cib;
const parseMs = time(30, () => (cib = parseCibXml(text)));
const exportMs = time(30, () => cibToXml(cib));
console.log(`largest case ${biggest.slice(cases.length + 1)} (${text.length} bytes): import ${parseMs.toFixed(1)} ms (${(text.length / 1e3 / parseMs).toFixed(1)} MB/s), export ${exportMs.toFixed(1)} ms`);
const all = performance.now();
for (const f of files) parseCibXml(readFileSync(f, 'utf8'));
console.log(`whole corpus (${files.length} files): import ${(performance.now() - all).toFixed(0)} ms`);

const work = mkdtempSync(join(tmpdir(), 'belay-bench-'));
const env = { ...process.env, CIB_file: join(work, 'cib.xml') };
spawnSync(process.execPath, [join(root, 'bin/crm'), 'configure', 'load', 'replace', join(root, 'constraints/nginx-floatip.yaml')], { env });
const run = (args) => {
  const t0 = performance.now();
  spawnSync(process.execPath, args, { env });
  return performance.now() - t0;
};
const median = (xs) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const N = 15;
const bare = median(Array.from({ length: N }, () => run(['-e', ''])));
const show = median(Array.from({ length: N }, () => run([join(root, 'bin/crm'), 'configure', 'show'])));
console.log(`crm configure show (nginx-floatip): median ${show.toFixed(0)} ms over ${N} runs; node -e '': ${bare.toFixed(0)} ms`);
rmSync(work, { recursive: true, force: true });
