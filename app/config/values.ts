// Parsers for the values written as strings in the config (CIDR, ports, durations, targets, host keys).
// Each returns the normalised value or throws ValueError saying what is wrong and what is expected.
import { isIPv4, isIPv6 } from 'node:net';

export class ValueError extends Error {}

const show = (v: unknown): string => (typeof v === 'string' ? JSON.stringify(v) : String(v));

const LABEL = '[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?';
const DNS_NAME = new RegExp(`^(${LABEL}\\.)*${LABEL}$`);

/** A DNS name, lower-cased, without a trailing dot (a leading dot is allowed for zone suffixes). */
export function dnsName(v: string, what: string, allowLeadingDot = false): string {
  let name = v.trim().toLowerCase().replace(/\.$/, '');
  if (allowLeadingDot) name = name.replace(/^\./, '');
  if (!DNS_NAME.test(name) || name.length > 253) {
    throw new ValueError(`${show(v)} is not a DNS name: expected ${what}`);
  }
  return name;
}

/** A host to connect to: a DNS name or an IP address (IPv6 without brackets). */
export function hostName(v: string): string {
  const s = v.trim();
  if (isIPv4(s) || isIPv6(s)) return s.toLowerCase();
  if (s.startsWith('[') && isIPv6(s.slice(1, -1)) && s.endsWith(']')) return s.slice(1, -1).toLowerCase();
  // What ssh users type on the command line; here user and port are fields of their own.
  if (/^[^@\s]+@[^@\s]+$/.test(s)) {
    const [user, host] = s.split('@');
    throw new ValueError(`${show(v)} has a user in it: expected user = "${user}" and host = "${host}" apart`);
  }
  if (/^[^:\s]+:\d+$/.test(s)) {
    const [host, port] = s.split(':');
    throw new ValueError(`${show(v)} has a port in it: expected host = "${host}" and port = ${port} apart`);
  }
  return dnsName(s, 'a host name or an IP address, e.g. "bastion.corp.example.com"');
}

/** An IPv4 CIDR with a prefix /8../24 (the VNet range): enough room for apps, small enough to route. */
export function vnetRange(v: string): string {
  const m = /^(\d+\.\d+\.\d+\.\d+)\/(\d+)$/.exec(v.trim());
  if (!m || !isIPv4(m[1]) || Number(m[2]) > 32) {
    throw new ValueError(`${show(v)} is not an IPv4 CIDR: expected "address/prefix", e.g. "100.64.0.0/10"`);
  }
  const prefix = Number(m[2]);
  if (prefix < 8 || prefix > 24) {
    throw new ValueError(`${show(v)}: prefix /${prefix} is outside /8../24: expected e.g. "100.64.0.0/10"`);
  }
  const int = m[1].split('.').reduce((a, b) => a * 256 + Number(b), 0);
  const net = int - (int % 2 ** (32 - prefix));
  if (int !== net) {
    const text = [24, 16, 8, 0].map((s) => Math.floor(net / 2 ** s) % 256).join('.');
    throw new ValueError(`${show(v)} has host bits set: expected the network address, "${text}/${prefix}"`);
  }
  return `${m[1]}/${prefix}`;
}

function port(text: string, whole: string): number {
  const n = /^\d{1,5}$/.test(text) ? Number(text) : NaN;
  if (!(n >= 1 && n <= 65535)) throw new ValueError(`${whole}`);
  return n;
}

/** `80`, `"80"` or `"8000-8100"` → a port or an inclusive range. */
export function portSpec(v: unknown): number | [number, number] {
  if (typeof v === 'number') {
    if (Number.isInteger(v) && v >= 1 && v <= 65535) return v;
    throw new ValueError(`${v} is not a port: expected an integer 1-65535`);
  }
  if (typeof v !== 'string') {
    throw new ValueError(`expected a port (e.g. 443) or a range in a string (e.g. "8000-8100")`);
  }
  const bad = `${show(v)} is not a port range: expected "from-to" with from <= to, within 1-65535`;
  const m = /^\s*(\d+)\s*(?:-\s*(\d+)\s*)?$/.exec(v);
  if (!m) throw new ValueError(bad);
  const from = port(m[1], bad);
  if (m[2] === undefined) return from;
  const to = port(m[2], bad);
  if (from > to) throw new ValueError(bad);
  return from === to ? from : [from, to];
}

const UNIT: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400, w: 604800 };

/**
 * Seconds, as an integer or in sshd_config's time format: "30", "30s", "8h", "1h30m" (units s, m, h,
 * d, w; case-insensitive; a bare number is seconds).
 */
export function duration(v: unknown): number {
  const expected = 'expected seconds (e.g. 30) or a duration like "90s", "15m", "8h", "1h30m"';
  if (typeof v === 'number') {
    if (Number.isInteger(v) && v >= 0) return v;
    throw new ValueError(`${v} is not a duration: ${expected}`);
  }
  if (typeof v !== 'string' || !/^\s*(\d+[smhdw]?)+\s*$/i.test(v)) {
    throw new ValueError(`${show(v)} is not a duration: ${expected}`);
  }
  let total = 0;
  for (const [, n, u] of v.trim().matchAll(/(\d+)([smhdw]?)/gi))
    total += Number(n) * UNIT[u.toLowerCase() || 's'];
  if (!Number.isSafeInteger(total)) throw new ValueError(`${show(v)} is too long: ${expected}`);
  return total;
}

/** "host", "host:port", "[v6]:port" (or "[v6]", or a bare IPv6 address) → host and optional port. */
export function target(v: string): { host: string; port?: number } {
  const expected = `${show(v)} is not a target: expected "host", "host:port" or "[ipv6]:port"`;
  const s = v.trim();
  if (isIPv6(s)) return { host: s.toLowerCase() };
  const m = /^\[([^\]]+)\](?::(\d+))?$/.exec(s) ?? /^([^:[\]]+)(?::(\d+))?$/.exec(s);
  if (!m || (s.startsWith('[') && !isIPv6(m[1]))) throw new ValueError(expected);
  let host: string;
  try {
    host = hostName(m[1]);
  } catch {
    throw new ValueError(expected);
  }
  if (m[2] === undefined) return { host };
  const p = Number(m[2]);
  if (!(p >= 1 && p <= 65535)) throw new ValueError(`${show(v)}: port ${m[2]} is outside 1-65535`);
  return { host, port: p };
}

/** Public key algorithms OpenSSH accepts as host keys. */
export const HOST_KEY_TYPES = [
  'ssh-ed25519',
  'ecdsa-sha2-nistp256',
  'ecdsa-sha2-nistp384',
  'ecdsa-sha2-nistp521',
  'ssh-rsa',
  'ssh-dss',
  'sk-ssh-ed25519@openssh.com',
  'sk-ecdsa-sha2-nistp256@openssh.com',
];

/** "type base64 [comment]" (a host's .pub or the key part of a known_hosts line) → "type base64". */
export function hostKeyLine(v: string): string {
  const parts = v.trim().split(/\s+/);
  const expected = 'expected "type base64", e.g. the contents of the server\'s ssh_host_ed25519_key.pub';
  if (parts.length >= 3 && HOST_KEY_TYPES.includes(parts[1]) && !HOST_KEY_TYPES.includes(parts[0])) {
    throw new ValueError(`looks like a known_hosts line: drop the host name ${show(parts[0])}; ${expected}`);
  }
  const [type, b64] = parts;
  if (!HOST_KEY_TYPES.includes(type) || b64 === undefined) {
    throw new ValueError(`${show(v.length > 40 ? `${v.slice(0, 40)}…` : v)} is not a host key: ${expected}`);
  }
  const problem = blobProblem(type, b64);
  if (problem) throw new ValueError(`not a valid ${type} key (${problem}): ${expected}`);
  return `${type} ${b64}`;
}

/** Why a base64 key blob is not a `type` key, or null: it must decode and start with its type name. */
export function blobProblem(type: string, b64: string): string | null {
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(b64) || b64.length % 4 !== 0) return 'invalid base64';
  const blob = Buffer.from(b64, 'base64');
  const len = blob.length >= 4 ? blob.readUInt32BE(0) : -1;
  if (len < 0 || 4 + len > blob.length) return 'truncated key blob';
  const inner = blob.subarray(4, 4 + len).toString('latin1');
  return inner === type ? null : `the blob is a ${JSON.stringify(inner)} key`;
}
