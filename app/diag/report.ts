// The diagnostics report as text (the JSON form is the DiagReport itself).
import type { CheckStatus, DiagReport } from './types';

const MARK: Record<CheckStatus, string> = { ok: 'ok  ', warn: 'WARN', fail: 'FAIL', skip: 'skip' };

export function formatReport(r: DiagReport): string {
  const lines: string[] = [];
  for (const c of r.checks) {
    lines.push(`[${MARK[c.status]}] ${c.title}`);
    for (const e of c.evidence) lines.push(`       ${e}`);
    if (c.fix !== null && c.status !== 'ok') lines.push(`       → ${c.fix}`);
  }
  const s = r.summary;
  lines.push('', `${s.ok} ok, ${s.warn} warnings, ${s.fail} failed, ${s.skip} skipped`);
  return lines.join('\n') + '\n';
}
