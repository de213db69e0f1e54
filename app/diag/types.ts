// One diagnostic check's result, and the report `keyvnet diag` (and the menu's "Diagnostics…") shows.
// Field names are stable: `keyvnet diag --json` prints a DiagReport as is.

export type CheckStatus = 'ok' | 'warn' | 'fail' | 'skip';

export interface CheckResult {
  /** Stable machine name, e.g. "routes", "resolver.config", "bastion.corp.hostkey". */
  id: string;
  /** One line for humans, e.g. "Bastion corp: host key". */
  title: string;
  status: CheckStatus;
  /** What was seen (command output excerpts, addresses, counts), one fact per line. */
  evidence: string[];
  /** What to do about it; null when there is nothing to do. */
  fix: string | null;
}

export interface DiagReport {
  /** Milliseconds since the epoch when the checks ran. */
  at: number;
  platform: NodeJS.Platform;
  checks: CheckResult[];
  /** How many checks ended in each status. */
  summary: Record<CheckStatus, number>;
}

export function check(
  id: string,
  title: string,
  status: CheckStatus,
  evidence: string[] = [],
  fix: string | null = null,
): CheckResult {
  return { id, title, status, evidence, fix };
}
