/**
 * OCF return codes and what Pacemaker makes of them. Pure: no I/O.
 *
 * The scheduler and controller use `classifyResult` to decide whether an
 * operation failed and which recovery it calls for (Pacemaker Explained,
 * "OCF Return Codes"): soft = restart here or move, hard = move and ban
 * this node, fatal = stop everywhere (the configuration is wrong).
 */

export const OCF_SUCCESS = 0;
export const OCF_ERR_GENERIC = 1;
export const OCF_ERR_ARGS = 2;
export const OCF_ERR_UNIMPLEMENTED = 3;
export const OCF_ERR_PERM = 4;
export const OCF_ERR_INSTALLED = 5;
export const OCF_ERR_CONFIGURED = 6;
export const OCF_NOT_RUNNING = 7;
export const OCF_RUNNING_PROMOTED = 8;
export const OCF_FAILED_PROMOTED = 9;
/** OCF RA API 1.1: running, but likely to fail soon. */
export const OCF_DEGRADED = 190;
export const OCF_DEGRADED_PROMOTED = 191;

const RC_NAMES: Record<number, string> = {
  0: 'OCF_SUCCESS',
  1: 'OCF_ERR_GENERIC',
  2: 'OCF_ERR_ARGS',
  3: 'OCF_ERR_UNIMPLEMENTED',
  4: 'OCF_ERR_PERM',
  5: 'OCF_ERR_INSTALLED',
  6: 'OCF_ERR_CONFIGURED',
  7: 'OCF_NOT_RUNNING',
  8: 'OCF_RUNNING_PROMOTED',
  9: 'OCF_FAILED_PROMOTED',
  190: 'OCF_DEGRADED',
  191: 'OCF_DEGRADED_PROMOTED',
};

/** Pacemaker's short words for the same codes (as crm_mon prints them). */
const RC_TEXT: Record<number, string> = {
  0: 'ok',
  1: 'error',
  2: 'invalid parameter',
  3: 'unimplemented feature',
  4: 'insufficient privileges',
  5: 'not installed',
  6: 'not configured',
  7: 'not running',
  8: 'promoted',
  9: 'promoted (failed)',
  190: 'OCF_DEGRADED',
  191: 'OCF_DEGRADED_PROMOTED',
};

export function rcName(rc: number): string {
  return RC_NAMES[rc] ?? `OCF_UNKNOWN(${rc})`;
}

export function rcText(rc: number): string {
  return RC_TEXT[rc] ?? 'unknown';
}

/**
 * How the operation ended as a process, apart from its rc (Pacemaker's
 * execution status): `done` means the agent ran and exited by itself.
 */
export type ExecStatus = 'done' | 'timeout' | 'not-installed' | 'error' | 'cancelled';

export type Recovery = 'none' | 'soft' | 'hard' | 'fatal';

/**
 * Map a raw exit code to the OCF rc Pacemaker records: codes outside 0–9 and
 * 190/191 (including deaths by signal, -1) become OCF_ERR_GENERIC, as
 * Pacemaker's services library does.
 */
export function normalizeOcfRc(exitCode: number | null): number {
  if (exitCode === null || !Number.isInteger(exitCode)) return OCF_ERR_GENERIC;
  if ((exitCode >= 0 && exitCode <= 9) || exitCode === OCF_DEGRADED || exitCode === OCF_DEGRADED_PROMOTED) return exitCode;
  return OCF_ERR_GENERIC;
}

/**
 * LSB init scripts: `status` has its own codes (0 running, 1–3 dead or
 * stopped, 4 unknown); the other actions use 0–7 the same way OCF does.
 * `stop` of a stopped service and `start` of a started one must return 0.
 */
export function lsbToOcf(action: string, exitCode: number | null): number {
  if (exitCode === null) return OCF_ERR_GENERIC;
  if (action === 'status' || action === 'monitor') {
    if (exitCode === 0) return OCF_SUCCESS;
    if (exitCode >= 1 && exitCode <= 3) return OCF_NOT_RUNNING;
    return OCF_ERR_GENERIC;
  }
  if (exitCode >= 0 && exitCode <= 7) return exitCode;
  return OCF_ERR_GENERIC;
}

/** Recovery class of a failure code (Pacemaker Explained, table of OCF codes). */
export function recoveryForRc(rc: number): Recovery {
  switch (rc) {
    case OCF_ERR_ARGS:
    case OCF_ERR_UNIMPLEMENTED:
    case OCF_ERR_PERM:
    case OCF_ERR_INSTALLED:
      return 'hard';
    case OCF_ERR_CONFIGURED:
      return 'fatal';
    default:
      return 'soft';
  }
}

export interface ResultInput {
  action: string;
  /** Interval of the operation in ms; a monitor with 0 is a probe. */
  intervalMs?: number;
  rc: number;
  status: ExecStatus;
  /** The rc the caller expects (Pacemaker's target rc); derived when absent. */
  expectedRc?: number;
}

export interface ResultClass {
  ok: boolean;
  recovery: Recovery;
  /** Running but degraded (190/191) when the expected code was 0/8. */
  degraded: boolean;
  /** One line for logs and crm_mon's failed actions. */
  reason: string;
}

/** The rc a successful run of this action returns, when the caller did not say. */
export function defaultExpectedRc(action: string, intervalMs = 0): number | undefined {
  if (action === 'monitor' && intervalMs === 0) return undefined; // a probe: any state is an answer
  return OCF_SUCCESS;
}

/**
 * Did the operation do what was expected, and if not, what recovery does it
 * call for? A probe (monitor with interval 0) answers with the state it
 * found: 0, 7 and 8 (and 190/191) are all fine, even with an expected rc.
 */
export function classifyResult(input: ResultInput): ResultClass {
  const { action, rc, status } = input;
  const expected = input.expectedRc ?? defaultExpectedRc(action, input.intervalMs ?? 0);
  if (status === 'timeout') {
    return { ok: false, recovery: 'soft', degraded: false, reason: `${action} timed out` };
  }
  if (status === 'cancelled') {
    return { ok: true, recovery: 'none', degraded: false, reason: `${action} cancelled` };
  }
  if (status === 'not-installed') {
    return { ok: false, recovery: 'hard', degraded: false, reason: `agent not installed (${rcName(OCF_ERR_INSTALLED)})` };
  }
  if (status === 'error' && rc === OCF_SUCCESS) {
    return { ok: false, recovery: 'soft', degraded: false, reason: `${action} could not be executed` };
  }
  // A probe answers with the state it found: 0, 7 and 8 are never failures,
  // whatever the caller expected (Pacemaker records them as the state).
  const probe = action === 'monitor' && (input.intervalMs ?? 0) === 0;
  if (expected === undefined || probe) {
    if (rc === OCF_SUCCESS || rc === OCF_NOT_RUNNING || rc === OCF_RUNNING_PROMOTED) {
      return { ok: true, recovery: 'none', degraded: false, reason: rcText(rc) };
    }
    if (rc === OCF_DEGRADED || rc === OCF_DEGRADED_PROMOTED) {
      return { ok: true, recovery: 'none', degraded: true, reason: rcText(rc) };
    }
    return { ok: false, recovery: recoveryForRc(rc), degraded: false, reason: `${action}: ${rcText(rc)} (${rcName(rc)})` };
  }
  if (rc === expected) return { ok: true, recovery: 'none', degraded: false, reason: rcText(rc) };
  if (expected === OCF_SUCCESS && rc === OCF_DEGRADED) {
    return { ok: true, recovery: 'none', degraded: true, reason: rcText(rc) };
  }
  if (expected === OCF_RUNNING_PROMOTED && rc === OCF_DEGRADED_PROMOTED) {
    return { ok: true, recovery: 'none', degraded: true, reason: rcText(rc) };
  }
  // Stopping something that is not running has reached the goal.
  if (action === 'stop' && rc === OCF_NOT_RUNNING) {
    return { ok: true, recovery: 'none', degraded: false, reason: rcText(rc) };
  }
  return {
    ok: false,
    recovery: recoveryForRc(rc),
    degraded: false,
    reason: `${action}: ${rcText(rc)} (${rcName(rc)}), expected ${rcName(expected)}`,
  };
}
