// Bastion checks: TCP reachable (and an SSH banner), and the host key it presents matches the one the
// config pins (host_keys, or known_hosts). The key exchange stops at the host key: nothing is
// authenticated and the security key is not used.
import { createHash } from 'node:crypto';
import { connect } from 'node:net';
import { Client, type ServerHostKeyAlgorithm } from 'ssh2';
import type { BastionStateInfo } from '../../ipc/messages';
import { check, type CheckResult } from './types';

const DEADLINE_MS = 8000;

export interface BastionTarget {
  name: string;
  host: string;
  port: number;
  /** "type base64" lines the config expects (host_keys, or from known_hosts). */
  expectedKeys: string[];
  jump: string | null;
}

/** Connects, reads the SSH identification line, and hangs up. */
export function probeTcp(host: string, port: number): Promise<{ banner: string } | { error: string }> {
  return new Promise((resolve) => {
    const s = connect({ host, port });
    let buf = '';
    const done = (r: { banner: string } | { error: string }): void => {
      clearTimeout(timer);
      s.destroy();
      resolve(r);
    };
    const timer = setTimeout(() => done({ error: `no answer within ${DEADLINE_MS / 1000} s` }), DEADLINE_MS);
    s.on('data', (d: Buffer) => {
      buf += d.toString('latin1');
      const nl = buf.indexOf('\n');
      if (nl >= 0 || buf.length > 255) done({ banner: buf.slice(0, nl >= 0 ? nl : 255).trim() });
    });
    s.on('error', (err) => done({ error: err.message }));
    s.on('end', () => done({ error: 'closed the connection without an SSH banner' }));
  });
}

/** The host key algorithms to ask for, so the server presents a key of a type we know. */
export function hostKeyAlgorithms(expected: string[]): ServerHostKeyAlgorithm[] {
  const out: ServerHostKeyAlgorithm[] = [];
  for (const line of expected) {
    const type = line.split(/\s+/)[0];
    const algs: ServerHostKeyAlgorithm[] =
      type === 'ssh-rsa' ? ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'] : [type as ServerHostKeyAlgorithm];
    for (const a of algs) if (!out.includes(a)) out.push(a);
  }
  return out;
}

/** The host key blob the server presents (key exchange only, then disconnect). */
export function fetchHostKey(host: string, port: number, expected: string[]): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const c = new Client();
    let key: Buffer | null = null;
    const timer = setTimeout(
      () => finish(new Error(`no host key within ${DEADLINE_MS / 1000} s`)),
      DEADLINE_MS,
    );
    const finish = (err: Error | null): void => {
      clearTimeout(timer);
      c.removeAllListeners();
      c.on('error', () => undefined);
      c.end();
      if (key) resolve(key);
      else reject(err ?? new Error('no host key'));
    };
    c.on('error', (err) => finish(err));
    c.on('close', () => finish(null));
    const algs = hostKeyAlgorithms(expected);
    c.connect({
      host,
      port,
      username: 'keyvnet-diag',
      readyTimeout: DEADLINE_MS,
      ...(algs.length > 0 ? { algorithms: { serverHostKey: algs } } : {}),
      hostVerifier: (blob: Buffer) => {
        key = Buffer.from(blob);
        setImmediate(() => finish(null));
        return false; // stop here: this is only a host key check
      },
    });
  });
}

export function fingerprintOf(blobOrLine: Buffer | string): string {
  const blob =
    typeof blobOrLine === 'string' ? Buffer.from(blobOrLine.split(/\s+/)[1] ?? '', 'base64') : blobOrLine;
  return `SHA256:${createHash('sha256').update(blob).digest('base64').replace(/=+$/, '')}`;
}

/** Pure: the presented key against the expected ones. */
export function hostKeyCheck(b: BastionTarget, presented: Buffer | { error: string }): CheckResult {
  const id = `bastion.${b.name}.hostkey`;
  const title = `Bastion ${b.name}: host key`;
  if (!Buffer.isBuffer(presented))
    return check(id, title, 'fail', [`${b.host}:${b.port}: ${presented.error}`], null);
  const type = presented.subarray(4, 4 + presented.readUInt32BE(0)).toString('latin1');
  const seen = `${b.host}:${b.port} presents ${type} ${fingerprintOf(presented)}`;
  if (b.expectedKeys.length === 0) {
    return check(
      id,
      title,
      'warn',
      [seen, 'no host key is known for it (host_keys, known_hosts)'],
      `Check the fingerprint with your administrator, then add host_keys = ["${type} ${presented.toString('base64')}"] to [[bastion]] ${b.name}.`,
    );
  }
  const b64 = presented.toString('base64');
  if (b.expectedKeys.some((k) => k.split(/\s+/)[1] === b64))
    return check(id, title, 'ok', [seen, 'matches the known key']);
  return check(
    id,
    title,
    'fail',
    [seen, ...b.expectedKeys.map((k) => `expected ${k.split(/\s+/)[0]} ${fingerprintOf(k)}`)],
    'The bastion presents a different host key. If it was changed on purpose, update host_keys (or known_hosts: ssh-keygen -R); otherwise do not use it: someone may be in the middle.',
  );
}

export function tcpCheck(b: BastionTarget, r: { banner: string } | { error: string }): CheckResult {
  const id = `bastion.${b.name}.reachable`;
  const title = `Bastion ${b.name}: ${b.host}:${b.port} reachable`;
  if ('banner' in r) {
    if (r.banner.startsWith('SSH-')) return check(id, title, 'ok', [`banner: ${r.banner}`]);
    return check(
      id,
      title,
      'fail',
      [`not an SSH server: "${r.banner.slice(0, 80)}"`],
      `Check host and port of [[bastion]] ${b.name}.`,
    );
  }
  return check(
    id,
    title,
    'fail',
    [`${b.host}:${b.port}: ${r.error}`],
    'Check the network (VPN, Wi-Fi captive portal), the host name and port, and that the bastion is up.',
  );
}

/** The daemon's view of the bastion's SSH session (from status.bastions), when it has one. */
export function sessionCheck(name: string, s: BastionStateInfo | undefined): CheckResult {
  const id = `bastion.${name}.session`;
  const title = `Bastion ${name}: session`;
  if (!s) return check(id, title, 'skip', ['no session yet (opened on the first connection through it)']);
  const ev = [`${s.state}, policy ${s.policy}, ${s.sessions} sessions, ${s.touches} touches`];
  if (s.state === 'error')
    return check(
      id,
      title,
      'fail',
      [...ev, s.reason ?? 'no reason given'],
      'See the reason; `keyvnet diag` checks reachability and the host key above.',
    );
  return check(id, title, 'ok', ev);
}

export async function checkBastion(
  b: BastionTarget,
  session: BastionStateInfo | undefined,
): Promise<CheckResult[]> {
  if (b.jump !== null) {
    return [
      check(`bastion.${b.name}.reachable`, `Bastion ${b.name}: reachable`, 'skip', [
        `reached through bastion ${b.jump}: not checked from here`,
      ]),
      sessionCheck(b.name, session),
    ];
  }
  const tcp = await probeTcp(b.host, b.port);
  const out = [tcpCheck(b, tcp)];
  if ('banner' in tcp && tcp.banner.startsWith('SSH-')) {
    const key = await fetchHostKey(b.host, b.port, b.expectedKeys).catch((err: Error) => ({
      error: err.message,
    }));
    out.push(hostKeyCheck(b, key));
  } else {
    out.push(check(`bastion.${b.name}.hostkey`, `Bastion ${b.name}: host key`, 'skip', ['not reachable']));
  }
  out.push(sessionCheck(b.name, session));
  return out;
}
