/** Prometheus' own format check, as the metrics tests use it. */
import { spawnSync } from 'node:child_process';

/**
 * The one lint promtool raises that we keep on purpose: ha_cluster_exporter's
 * name `ha_cluster_pacemaker_fail_count` ends in _count without being a
 * histogram; renaming it would break the exporter's dashboards.
 */
const KEPT_LINTS = [/^ha_cluster_pacemaker_fail_count non-histogram and non-summary metrics should not have "_count" suffix$/];

/**
 * `promtool check metrics`: exit 1 is a format error, exit 3 lint problems
 * (one per line). Passing means no format error and no lint beyond KEPT_LINTS.
 */
export function promtool(text: string): { ok: boolean; out: string } {
  const which = spawnSync('promtool', ['--version']);
  if (which.error) throw new Error('promtool is missing: apt-get install prometheus (scripts/debian-packages.txt)');
  const r = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
  const out = `${r.stdout}${r.stderr}`;
  if (r.status === 0) return { ok: true, out };
  if (r.status !== 3) return { ok: false, out };
  const problems = out.split('\n').map((l) => l.trim()).filter(Boolean);
  return { ok: problems.every((p) => KEPT_LINTS.some((k) => k.test(p))), out };
}

