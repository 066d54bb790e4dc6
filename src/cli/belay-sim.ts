/**
 * `belay sim`: the whole cluster in one process on simulated time
 * (src/sim/cluster.ts). `--seed N` replays one run exactly, `--seeds A..B`
 * sweeps a range; a violated invariant names its seed and exits 1.
 */
import type { Command } from 'commander';
import { ALL_INVARIANTS, runCluster, type Breakage, type ClusterSimOptions, type ClusterSimResult, type FencingMode, type InvariantCode } from '../sim/cluster.js';

interface SimCliOptions {
  seed?: string;
  seeds?: string;
  nodes: string;
  steps?: string;
  chaosMs?: string;
  settleMs?: string;
  fencing: string;
  ignore?: string;
  broken?: string;
  vrrp?: boolean;
  verbose?: boolean;
  json?: boolean;
}

function int(name: string, value: string, min: number): number {
  if (!/^\d+$/.test(value) || Number(value) < min) throw new Error(`${name}: expected an integer >= ${min}, got '${value}'`);
  return Number(value);
}

function codes(name: string, value: string | undefined): InvariantCode[] {
  if (value === undefined || value === '') return [];
  return value.split(',').map((c) => {
    if (!(ALL_INVARIANTS as readonly string[]).includes(c)) throw new Error(`${name}: unknown invariant '${c}' (known: ${ALL_INVARIANTS.join(', ')})`);
    return c as InvariantCode;
  });
}

export function simOptions(o: SimCliOptions): ClusterSimOptions {
  const opts: ClusterSimOptions = { nodes: int('--nodes', o.nodes, 2) };
  if (o.steps !== undefined) opts.steps = int('--steps', o.steps, 0);
  if (o.chaosMs !== undefined) opts.chaosMs = int('--chaos-ms', o.chaosMs, 1000);
  if (o.settleMs !== undefined) opts.settleMs = int('--settle-ms', o.settleMs, 1000);
  if (o.fencing !== 'power-off' && o.fencing !== 'none' && o.fencing !== 'stonith') throw new Error(`--fencing: expected power-off, none or stonith, got '${o.fencing}'`);
  opts.fencing = o.fencing as FencingMode;
  const ignored = new Set(codes('--ignore', o.ignore));
  opts.check = ALL_INVARIANTS.filter((c) => !ignored.has(c));
  if (o.broken !== undefined) {
    const known = ['skip-stops', 'stop-lies', 'fence-lies', 'skip-fence-wait', 'vip-no-release'];
    if (!known.includes(o.broken)) throw new Error(`--broken: expected ${known.join(', ')}, got '${o.broken}'`);
    if (o.broken === 'vip-no-release' && o.vrrp !== true) throw new Error('--broken vip-no-release needs --vrrp');
    opts.broken = o.broken as Breakage;
  }
  if (o.vrrp === true) opts.vrrp = true;
  return opts;
}

function summary(r: ClusterSimResult): string {
  const s = r.stats;
  const conv = r.convergedAfter === null ? 'did not converge' : `converged ${(r.convergedAfter / 1000).toFixed(2)} s after the faults`;
  return (
    `seed ${r.seed}: ${r.nodes} nodes, ${(r.simMs / 1000).toFixed(1)} s simulated, ${conv}; ` +
    `${s.rings} rings, ${s.transitions} transitions, ${s.operations} operations, ${s.crashes} crashes (${s.diskCrashes} while writing the CIB), ` +
    `${s.edits} edits (${s.acked} acknowledged), ${s.invalidMessages} invalid messages dropped — ` +
    (r.violations.length === 0 ? 'no violations' : `${r.violations.length} VIOLATIONS`)
  );
}

export function registerSimCommands(program: Command): void {
  program
    .command('sim')
    .description('run the whole cluster (totem, quorum, controller, scheduler) in one process on simulated time, under faults')
    .option('--seed <n>', 'one run; replays exactly')
    .option('--seeds <a..b>', 'sweep seeds a..b')
    .option('--nodes <n>', 'cluster nodes', '3')
    .option('--steps <n>', 'fault events during the chaos phase (default: one per 600 ms)')
    .option('--chaos-ms <ms>', 'simulated ms of faults (default 15000..30000 by seed)')
    .option('--settle-ms <ms>', 'bound for convergence after the faults stop', '90000')
    .option('--fencing <mode>', 'power-off: a node that leaves the quorate ring is dead at once; none: stonith-enabled=false semantics; stonith: the controller fences it with a simulated device', 'power-off')
    .option('--ignore <codes>', `invariants not to check, comma-separated (${ALL_INVARIANTS.join(', ')})`)
    .option('--broken <bug>', 'inject a deliberate bug to see the checker fail: skip-stops, stop-lies; with --fencing stonith: fence-lies, skip-fence-wait; with --vrrp: vip-no-release')
    .option('--vrrp', "add a FloatIP with a vrid, run by each node's real VRRP core as belayd does (adverts on the simulated network)")
    .option('--verbose', 'print the trace of the run')
    .option('--json', 'print results as JSON lines')
    .action((o: SimCliOptions) => {
      const opts = simOptions(o);
      let from: number;
      let to: number;
      if (o.seeds !== undefined) {
        const m = /^(\d+)\.\.(\d+)$/.exec(o.seeds);
        if (!m || Number(m[2]) < Number(m[1])) throw new Error(`--seeds: expected A..B with A <= B, got '${o.seeds}'`);
        from = Number(m[1]);
        to = Number(m[2]);
      } else {
        from = to = int('--seed', o.seed ?? '1', 0);
      }
      const failing: number[] = [];
      const started = Date.now();
      for (let seed = from; seed <= to; seed++) {
        const r = runCluster(seed, { ...opts, trace: o.verbose === true });
        if (o.verbose) process.stdout.write(`${r.trace.join('\n')}\n`);
        if (o.json) process.stdout.write(`${JSON.stringify({ ...r, trace: undefined })}\n`);
        else if (from === to || r.violations.length > 0) process.stdout.write(`${summary(r)}\n`);
        for (const v of r.violations) if (!o.json) process.stdout.write(`  ${v.code} at ${(v.at / 1000).toFixed(3)} s: ${v.message}\n`);
        if (r.violations.length > 0) failing.push(seed);
      }
      if (from !== to && !o.json) {
        const secs = (Date.now() - started) / 1000;
        process.stdout.write(`${to - from + 1} seeds in ${secs.toFixed(1)} s: ${failing.length} failing${failing.length ? ` (${failing.slice(0, 20).join(', ')}${failing.length > 20 ? ', ...' : ''}); replay one with: belay sim --seed N --verbose` : ''}\n`);
      }
      if (failing.length > 0) process.exitCode = 1;
    });
}
