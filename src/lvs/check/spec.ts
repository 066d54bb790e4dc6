/**
 * The contract between the LVS configuration (src/lvs, which parses
 * `real_server { TCP_CHECK | HTTP_GET | SSL_GET | MISC_CHECK { ... } }`)
 * and the health checkers (src/lvs/check, which run them). Plain data, no I/O.
 *
 * Times are milliseconds. Defaults are keepalived 2.2.7's and are filled in
 * by the parser, so a checker never guesses.
 */

/** Where a check connects: the real server's address unless `connect_ip`/`connect_port` say otherwise. */
export interface CheckTarget {
  ip: string;
  port: number;
}

/** Settings every checker kind shares (keepalived's "checker common" keywords). */
export interface CheckCommon {
  /** The file and line of the checker block, for messages. */
  file: string;
  line: number;
  /** `connect_ip`, `connect_port`: override the real server's address. */
  connectIp?: string;
  connectPort?: number;
  /** `bindto`, `bind_port`: the local source. */
  bindTo?: string;
  bindPort?: number;
  /** `connect_timeout` (keepalived default 5 s). */
  connectTimeoutMs: number;
  /** `retry` / `nb_get_retry`: failed attempts in a row, after the first, before the server is down. */
  retry: number;
  /** `delay_before_retry` (default 1 s). */
  delayBeforeRetryMs: number;
  /** `delay_loop` of the checker, else of the virtual server (default 60 s). */
  delayLoopMs: number;
  /** `warmup`: a random delay of up to this before the first check. */
  warmupMs: number;
  /** `alpha` (virtual server): a real server starts down until its first successful check. */
  alpha: boolean;
}

export interface TcpCheckSpec extends CheckCommon {
  kind: 'TCP_CHECK';
}

export interface HttpUrlSpec {
  path: string;
  /** `status_code` values (ranges expanded); empty = keepalived's default 200–299. */
  statusCodes: number[];
  /** `digest`: MD5 hex of the body, lower case. */
  digest?: string;
  /** `virtualhost` of this url, else of the checker. */
  virtualhost?: string;
}

export interface HttpCheckSpec extends CheckCommon {
  kind: 'HTTP_GET' | 'SSL_GET';
  urls: HttpUrlSpec[];
  /** `virtualhost` of the checker, else of the virtual server. */
  virtualhost?: string;
  /** `enable_sni` (SSL_GET). */
  enableSni: boolean;
}

export interface MiscCheckSpec {
  kind: 'MISC_CHECK';
  file: string;
  line: number;
  /** `misc_path`: a command line, run without a shell's expansion of parameters (argv split as keepalived does). */
  path: string;
  /** `misc_timeout` (default: the delay_loop). */
  timeoutMs: number;
  /** `misc_dynamic`: exit 0 = up, 1 = down, 2..255 = up with weight (code - 2). */
  dynamic: boolean;
  /** `user` [group]: whom to run as (keepalived's script_user default otherwise). */
  user?: string;
  group?: string;
  retry: number;
  delayBeforeRetryMs: number;
  delayLoopMs: number;
  warmupMs: number;
  alpha: boolean;
}

export type CheckSpec = TcpCheckSpec | HttpCheckSpec | MiscCheckSpec;

/** The health of one real server as its checkers see it: up only when every checker is up. */
export interface RealServerHealth {
  up: boolean;
  /** Set by a `misc_dynamic` MISC_CHECK: the weight its exit code gave. */
  dynamicWeight?: number;
  /** Why it is in this state, as a log line would say it ("TCP connection to [10.0.0.2]:tcp:80 failed"). */
  reason: string;
}

export interface CheckerHooks {
  /** A log line, in keepalived's words where it has them. */
  log(line: string): void;
  /** Called on every change of the real server's health (not on every check). */
  onChange(health: RealServerHealth): void;
}

export interface CheckerHandle {
  /** The health now. */
  health(): RealServerHealth;
  /** Stop checking; no hook is called afterwards. */
  stop(): void;
}

/**
 * Start checking one real server with all its checkers.
 * `realServer` is the real server's own address and port (checks use it unless connect_ip/port say otherwise).
 */
export type StartRealServerChecks = (realServer: CheckTarget, checks: CheckSpec[], hooks: CheckerHooks) => CheckerHandle;
