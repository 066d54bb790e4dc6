/**
 * keepalived's vrrp_track_process, decided without I/O: which processes
 * match (`process`, parameters, `param_match`, `full_command`), whether the
 * count is within `quorum`..`quorum_max`, and `fork_delay` /
 * `terminate_delay` before a change counts. The engine feeds it the process
 * table it reads from /proc and the time.
 */

export interface ProcessMatchSpec {
  /** `process NAME [PARAM...]`. */
  process: string;
  params?: string[];
  /** `param_match`: `initial` lets the last parameter be a prefix; `partial` lets the process have more parameters. */
  paramMatch?: 'exact' | 'initial' | 'partial';
  /** Match the whole command line instead of the process name. */
  fullCommand?: boolean;
}

export interface ProcessInfo {
  /** The Name: of /proc/PID/status (comm, at most 15 characters). */
  comm: string;
  /** /proc/PID/cmdline split on NULs. */
  argv: string[];
}

/**
 * keepalived matches the name exactly (no pattern: `ssh` is not `sshd`);
 * with parameters or full_command it matches argv[0] and the parameters.
 */
export function processMatches(spec: ProcessMatchSpec, p: ProcessInfo): boolean {
  const params = spec.params ?? [];
  const withArgs = spec.fullCommand || params.length > 0 || spec.paramMatch !== undefined;
  // The kernel keeps 15 characters of the name.
  if (!withArgs) return p.comm === spec.process || (spec.process.length > 15 && p.comm === spec.process.slice(0, 15));
  if (p.argv[0] !== spec.process && (spec.fullCommand || baseName(p.argv[0]) !== spec.process)) return false;
  const args = p.argv.slice(1);
  const mode = spec.paramMatch ?? 'exact';
  if (mode === 'exact' && args.length !== params.length) return false;
  if (args.length < params.length) return false;
  for (let i = 0; i < params.length; i++) {
    const last = i === params.length - 1;
    if (last && mode === 'initial' ? !args[i]!.startsWith(params[i]!) : args[i] !== params[i]) return false;
  }
  return mode !== 'initial' || args.length === params.length;
}

function baseName(s: string | undefined): string {
  return (s ?? '').split('/').pop() ?? '';
}

export interface QuorumSpec {
  quorum: number;
  /** Above it the process counts as failed (keepalived default: no limit). */
  quorumMax?: number;
  forkDelayMs?: number;
  terminateDelayMs?: number;
}

/**
 * Up/down of one tracked process with keepalived's delays: a count that
 * crosses into the quorum counts after fork_delay, one that leaves it after
 * terminate_delay, and a change that goes back within the delay never counts.
 */
export class QuorumTracker {
  private up: boolean | null = null;
  private pending: { up: boolean; at: number } | null = null;

  constructor(private readonly spec: QuorumSpec) {}

  inQuorum(count: number): boolean {
    return count >= this.spec.quorum && count <= (this.spec.quorumMax ?? Infinity);
  }

  /** The state to report now (null: nothing decided yet — the first sample decides at once). */
  sample(count: number, now: number): boolean {
    const want = this.inQuorum(count);
    if (this.up === null) {
      this.up = want;
      return want;
    }
    if (want === this.up) {
      this.pending = null;
      return this.up;
    }
    const delay = want ? (this.spec.forkDelayMs ?? 0) : (this.spec.terminateDelayMs ?? 0);
    if (!this.pending || this.pending.up !== want) this.pending = { up: want, at: now + delay };
    if (now >= this.pending.at) {
      this.up = want;
      this.pending = null;
    }
    return this.up;
  }

  /** When a pending change falls due (the engine samples again then). */
  dueAt(): number | null {
    return this.pending?.at ?? null;
  }
}
