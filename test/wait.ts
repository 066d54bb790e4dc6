/**
 * Waiting on real processes: probe until a condition holds, never a fixed
 * sleep (CI's two cores are loaded). A probe that throws counts as "not yet".
 */
export type WaitFor = <T>(what: string, probe: () => Promise<T>, ok: (v: T) => boolean, timeoutMs?: number) => Promise<T>;

/** A waitFor with this file's default bound and polling interval. */
export function waiter(defaultTimeoutMs: number, everyMs: number): WaitFor {
  return async <T>(what: string, probe: () => Promise<T>, ok: (v: T) => boolean, timeoutMs = defaultTimeoutMs): Promise<T> => {
    const start = Date.now();
    let last: T | undefined;
    let lastErr: unknown;
    while (Date.now() - start < timeoutMs) {
      try {
        last = await probe();
        if (ok(last)) return last;
      } catch (err) {
        lastErr = err;
      }
      await new Promise((r) => setTimeout(r, everyMs));
    }
    throw new Error(`timed out waiting for ${what}; last: ${JSON.stringify(last)?.slice(0, 2000)} ${lastErr ? String(lastErr) : ''}`);
  };
}
