// Which apps can be opened in a browser, and at which URL. Pure.
//
// An app is web when its allowed ports include 443, 8443, 80 or 8080 (a range counts when it
// contains one), preferring https and the standard ports; an app that allows every port is web only
// when its description says so ("https", "http", "web", "dashboard", "UI"), then https unless the
// description says plain "http". Nothing else guesses: opening a database in a browser helps no one.
import type { ConfiguredApp } from '../agent/state';

const WEB_PORTS: Array<{ port: number; scheme: 'https' | 'http' }> = [
  { port: 443, scheme: 'https' },
  { port: 8443, scheme: 'https' },
  { port: 80, scheme: 'http' },
  { port: 8080, scheme: 'http' },
];

/** "80" → [80, 80], "8000-8100" → [8000, 8100]; null when unreadable. */
export function parsePortRange(spec: string): [number, number] | null {
  const m = /^\s*(\d{1,5})\s*(?:-\s*(\d{1,5})\s*)?$/.exec(spec);
  if (!m) return null;
  const lo = Number(m[1]);
  const hi = m[2] === undefined ? lo : Number(m[2]);
  return lo >= 1 && hi <= 65535 && lo <= hi ? [lo, hi] : null;
}

export function portAllowed(app: Pick<ConfiguredApp, 'ports'>, port: number): boolean {
  if (app.ports.length === 0) return true;
  return app.ports.some((spec) => {
    const r = parsePortRange(spec);
    return r !== null && port >= r[0] && port <= r[1];
  });
}

/** The URL to open for a web app, or null when the app is not one. */
export function appUrl(app: Pick<ConfiguredApp, 'name' | 'ports' | 'description'>): string | null {
  const host = app.name.replace(/\.$/, '');
  if (app.ports.length > 0) {
    const hit = WEB_PORTS.find((w) => portAllowed(app, w.port));
    if (!hit) return null;
    const standard =
      (hit.scheme === 'https' && hit.port === 443) || (hit.scheme === 'http' && hit.port === 80);
    return `${hit.scheme}://${host}${standard ? '' : `:${hit.port}`}/`;
  }
  const d = app.description ?? '';
  if (/\bhttps\b/i.test(d)) return `https://${host}/`;
  if (/\bhttp\b/i.test(d)) return `http://${host}/`;
  if (/\b(web|dashboard|ui|console|portal|wiki)\b/i.test(d)) return `https://${host}/`;
  return null;
}
