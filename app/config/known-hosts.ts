// Host keys for a bastion from an OpenSSH known_hosts file (sshd(8) "SSH_KNOWN_HOSTS FILE FORMAT"):
//   [@marker] patterns keytype base64 [comment]
// patterns: a comma list of names with `*`/`?` wildcards and `!` negation, `[host]:port` for a port
// other than 22, or one hashed name `|1|base64(salt)|base64(HMAC-SHA1(salt, name))` (ssh-keygen -H).
// @revoked keys are never returned (and are reported); @cert-authority lines are skipped (host
// certificates are not supported).
import { createHmac } from 'node:crypto';
import { blobProblem, HOST_KEY_TYPES } from './values';

export interface KnownHostsLookup {
  /** "type base64" of every matching key, in file order, without duplicates or revoked keys. */
  keys: string[];
  /** Matching @revoked keys ("type base64"); excluded from `keys`. */
  revoked: string[];
  /** Lines that could not be read (1-based line numbers); they are skipped. */
  problems: { line: number; message: string }[];
  /** Matching @cert-authority lines, skipped. */
  certAuthorities: number;
}

/** The name a host is filed under: "host" on port 22, else "[host]:port" (lower-case). */
export function knownHostsName(host: string, port: number): string {
  const h = host.toLowerCase();
  return port === 22 ? h : `[${h}]:${port}`;
}

/** OpenSSH's match_pattern: `*` any run, `?` any one character; the whole string must match. */
export function matchPattern(s: string, pattern: string): boolean {
  const re = pattern
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^${re}$`, 's').test(s);
}

/** OpenSSH's match_hostname: some pattern matches and no negated one does (case-insensitive). */
export function matchHostPatterns(name: string, patterns: string): boolean {
  let positive = false;
  for (const raw of patterns.toLowerCase().split(',')) {
    const negated = raw.startsWith('!');
    if (!matchPattern(name, negated ? raw.slice(1) : raw)) continue;
    if (negated) return false;
    positive = true;
  }
  return positive;
}

/** Does a hashed entry `|1|salt|hash` stand for `name`? */
export function matchHashed(name: string, field: string): boolean {
  const [, magic, salt, hash] = field.split('|');
  if (magic !== '1' || !salt || !hash) return false;
  const mac = createHmac('sha1', Buffer.from(salt, 'base64')).update(name).digest('base64');
  return mac === hash;
}

export function lookupKnownHosts(text: string, host: string, port: number): KnownHostsLookup {
  const name = knownHostsName(host, port);
  const out: KnownHostsLookup = { keys: [], revoked: [], problems: [], certAuthorities: 0 };
  const found: string[] = [];
  text.split('\n').forEach((rawLine, i) => {
    const line = rawLine.trim();
    if (line === '' || line.startsWith('#')) return;
    const fields = line.split(/\s+/);
    const marker = fields[0].startsWith('@') ? fields.shift() : undefined;
    const [patterns, type, b64] = fields;
    const problem = (message: string): void => void out.problems.push({ line: i + 1, message });
    if (marker !== undefined && marker !== '@revoked' && marker !== '@cert-authority')
      return problem(`unknown marker ${marker}`);
    if (!patterns || !type || !b64) return problem('expected "[marker] hosts keytype base64 [comment]"');
    const matches = patterns.startsWith('|')
      ? matchHashed(name, patterns)
      : matchHostPatterns(name, patterns);
    if (!matches) return;
    if (marker === '@cert-authority') {
      out.certAuthorities++;
      return;
    }
    if (!HOST_KEY_TYPES.includes(type)) return problem(`unknown key type ${type}`);
    const bad = blobProblem(type, b64);
    if (bad) return problem(`bad ${type} key: ${bad}`);
    const key = `${type} ${b64}`;
    if (marker === '@revoked') {
      if (!out.revoked.includes(key)) out.revoked.push(key);
    } else if (!found.includes(key)) found.push(key);
  });
  out.keys = found.filter((k) => !out.revoked.includes(k));
  return out;
}

/**
 * The host keys ("type base64") known_hosts holds for host:port. Revoked keys are left out and
 * passed to `onRevoked` (to tell the user); unreadable lines are skipped.
 */
export function hostKeysFor(
  knownHostsText: string,
  host: string,
  port: number,
  onRevoked: (key: string) => void = () => undefined,
): string[] {
  const r = lookupKnownHosts(knownHostsText, host, port);
  r.revoked.forEach((k) => onRevoked(k));
  return r.keys;
}
