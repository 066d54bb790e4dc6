/**
 * `belay lab ...`: the tutorial's hosts in network namespaces on this
 * machine (see src/lab/cluster-lab.ts).
 */
import type { Command } from 'commander';
import { readFileSync } from 'node:fs';
import {
  belaydArgv, hostIsOn, labDir, labDown, labExec, labHeal, labKeyFile, labPartition, labPower, labPowerControl, labUp, loadLabState,
  powerOn, switchSocketPath, type BootFn, type ClusterLabState,
} from '../lab/cluster-lab.js';
import { pacemakerPowerOn } from '../lab/pacemaker-lab.js';
import { servePowerSwitch } from '../lab/power-switch.js';

/** A node boots into its lab's cluster stack. */
const boot: BootFn = (s, host) => (s.stack === 'pacemaker' ? pacemakerPowerOn(s, host) : powerOn(s, host));

const DEFAULT_LAB = 'demo';

export function registerLabCommands(program: Command): void {
  const lab = program.command('lab').description('a cluster of lab hosts in network namespaces on this machine');
  const named = (c: Command) => c.option('--name <lab>', 'lab name', DEFAULT_LAB);

  named(lab.command('up'))
    .description('create the hosts: cluster nodes n1..nN, app servers app1..appM (nginx), a client')
    .option('--nodes <n>', 'cluster nodes', '2')
    .option('--apps <n>', 'app servers', '2')
    .option('--no-cluster', 'hosts only: do not start belayd on the nodes')
    .action(async (o: { name: string; nodes: string; apps: string; cluster: boolean }) => {
      const spec = { name: o.name, nodes: Number(o.nodes), apps: Number(o.apps) };
      const state = await labUp(o.cluster ? { ...spec, daemonArgv: belaydArgv() } : spec);
      print(state);
    });

  named(lab.command('status')).description('hosts, addresses and whether they are up').action((o: { name: string }) => print(loadLabState(o.name)));

  named(lab.command('exec'))
    .description('run a command on a lab host: belay lab exec n1 -- crm status')
    .argument('<host>')
    .argument('<command...>')
    .action(async (host: string, argv: string[], o: { name: string }) => {
      const r = await labExec(loadLabState(o.name), host, argv);
      process.stdout.write(r.all ? `${r.all}\n` : '');
      process.exitCode = r.exitCode ?? 1;
    });

  named(lab.command('crash'))
    .description('power a host off: every process killed at once, link down')
    .argument('<host>')
    .action(async (host: string, o: { name: string }) => labPower(o.name, checkHost(loadLabState(o.name), host), 'off'));

  named(lab.command('start'))
    .description('power a host on again')
    .argument('<host>')
    .action(async (host: string, o: { name: string }) => labPower(o.name, checkHost(loadLabState(o.name), host), 'on', 0, boot));

  named(lab.command('reboot'))
    .description('power cycle a host: kill everything, wait, start again')
    .argument('<host>')
    .option('--pause <seconds>', 'time powered off', '2')
    .action(async (host: string, o: { name: string; pause: string }) =>
      labPower(o.name, checkHost(loadLabState(o.name), host), 'reboot', Number(o.pause) * 1000, boot),
    );

  named(lab.command('partition'))
    .description('cut a host off from all others (iptables inside its namespace); undo with heal')
    .argument('<host>')
    .option('--cut-switch', "also cut its line to the lab's power switch (a fence device on the same network)")
    .action(async (host: string, o: { name: string; cutSwitch?: boolean }) =>
      labPartition(o.name, checkHost(loadLabState(o.name), host), { cutSwitch: o.cutSwitch === true }),
    );

  named(lab.command('heal')).description('undo every partition').action(async (o: { name: string }) => labHeal(o.name));

  // Started by `lab up`, detached: the lab's power switch that fence_belay_lab talks to.
  named(lab.command('power-switch', { hidden: true }))
    .description("serve the lab's power switch (started by lab up)")
    .action(async (o: { name: string }) => {
      const dir = labDir(o.name);
      const labKey = Buffer.from(readFileSync(labKeyFile(dir), 'utf8').trim(), 'hex');
      await servePowerSwitch({ socketPath: switchSocketPath(dir), labKey, power: labPowerControl(o.name, boot), log: (l) => process.stdout.write(`${l}\n`) });
    });

  named(lab.command('down'))
    .description('stop everything in the lab and remove its namespaces and files')
    .action(async (o: { name: string }) => {
      await labDown(loadLabState(o.name));
      process.stdout.write(`lab ${o.name} is down\n`);
    });
}

function checkHost(state: ClusterLabState, host: string): string {
  if (!state.lab.hosts.some((h) => h.name === host)) {
    throw new Error(`no host '${host}' in lab ${state.name} (hosts: ${state.lab.hosts.map((h) => h.name).join(', ')})`);
  }
  return host;
}

function print(state: ClusterLabState): void {
  const switchUp = state.powerSwitch !== undefined && processIsSwitch(state.powerSwitch);
  const lines = [
    `lab ${state.name}: VIP ${state.vip}`,
    `  power switch: ${switchUp ? `up (pid ${state.powerSwitch}), fence agent: stonith:fence_belay_lab` : 'DOWN'}`,
    `  ${'host'.padEnd(7)} ${'address'.padEnd(14)} ${'role'.padEnd(13)} ${'power'.padEnd(6)} power-cycles`,
  ];
  for (const h of state.lab.hosts) {
    const role = state.nodes.includes(h.name) ? 'cluster node' : state.apps.includes(h.name) ? 'app server' : 'client';
    const up = hostIsOn(state, h.name);
    const cut = state.partitioned.includes(h.name) ? `  (partitioned${(state.switchCut ?? []).includes(h.name) ? ', no line to the switch' : ''})` : '';
    const cycles = String(state.powerCycles?.[h.name] ?? 0);
    lines.push(`  ${h.name.padEnd(7)} ${h.address.padEnd(14)} ${role.padEnd(13)} ${(up ? 'on' : 'OFF').padEnd(6)} ${cycles}${cut}`);
  }
  process.stdout.write(`${lines.join('\n')}\n`);
}

function processIsSwitch(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('power-switch');
  } catch {
    return false;
  }
}
