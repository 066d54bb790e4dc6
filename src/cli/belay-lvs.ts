/**
 * `belay lvs -Ln`: the running `belay keepalived`'s virtual server table in
 * `ipvsadm -Ln`'s format (connection counts from conntrack, read now), for
 * kernels without IPVS where ipvsadm has nothing to show. `belay lvs
 * --show-rules -f keepalived.conf` prints the nftables and ipvsadm-restore
 * text the configuration gives with every real server up (a dry run).
 */
import type { Command } from 'commander';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { defaultStatusFile } from './belay-keepalived.js';
import { ConfigError, parseKeepalivedConf } from '../vrrp/keepalived-conf.js';
import { fsConfigSource } from '../vrrp/conf-fs.js';
import { conntrackCounts, connKey } from '../lvs/dataplane.js';
import { ipvsadmList, ipvsadmRestoreText } from '../lvs/ipvsadm.js';
import { nftRuleset } from '../lvs/nft.js';
import { evaluatePool, type DesiredService } from '../lvs/pool.js';
import type { LvsStatus } from '../lvs/manager.js';

export function registerLvsCommands(program: Command): void {
  program
    .command('lvs')
    .description("the virtual server table of belay keepalived, as ipvsadm shows it")
    .option('-L, --list', 'list the table (as ipvsadm -L)')
    .option('-n, --numeric', 'numeric addresses and ports (always; accepted for ipvsadm compatibility)')
    .option('--status-file <path>', 'status file of the running belay keepalived', defaultStatusFile())
    .option('--show-rules', 'print the nftables and ipvsadm-restore text of a configuration file, every real server up')
    .option('-f, --use-file <file>', 'with --show-rules: the keepalived.conf', '/etc/keepalived/keepalived.conf')
    .action((o: { list?: boolean; statusFile: string; showRules?: boolean; useFile: string }) => {
      if (o.showRules) {
        let table: DesiredService[];
        try {
          const cfg = parseKeepalivedConf(path.resolve(o.useFile), fsConfigSource);
          for (const w of cfg.warnings) process.stderr.write(`WARNING - ${w.file}:${w.line}: ${w.message}\n`);
          table = evaluatePool(cfg.virtualServers, cfg.virtualServerGroups, new Map(), { quorumUp: new Map() }).table;
        } catch (err) {
          if (!(err instanceof ConfigError)) throw err;
          process.stderr.write(`belay lvs: ${err.message}\n`);
          process.exitCode = 1;
          return;
        }
        const nft = nftRuleset(table, { deviceOf: () => 'DEVICE' });
        process.stdout.write(`# nftables (nft -f)\n${nft.text}\n# ipvsadm-restore\n${ipvsadmRestoreText(table)}`);
        for (const n of nft.notes) process.stderr.write(`note: ${n}\n`);
        return;
      }
      let lvs: LvsStatus | undefined;
      try {
        lvs = (JSON.parse(readFileSync(o.statusFile, 'utf8')) as { lvs?: LvsStatus }).lvs;
      } catch (err) {
        process.stderr.write(`belay lvs: cannot read ${o.statusFile}: ${(err as Error).message} (is belay keepalived running? see --status-file)\n`);
        process.exitCode = 1;
        return;
      }
      const table: DesiredService[] = lvs?.services ?? [];
      let conntrack = '';
      try {
        conntrack = readFileSync('/proc/net/nf_conntrack', 'utf8');
      } catch {
        /* no conntrack: counts 0 */
      }
      const counts = conntrackCounts(table, conntrack);
      process.stdout.write(ipvsadmList(table, (id, d) => counts.get(connKey(id, d)) ?? { active: 0, inactive: 0 }));
    });
}
