// Bastion checks: TCP reachable (and an SSH banner), and the host key it presents matches the one the
// config pins (host_keys, or known_hosts). The key exchange stops at the host key: nothing is
// authenticated and the security key is not used. A bastion behind a `jump` is checked the same way
// over a channel of its jump's session, which needs a sign-in (bastion-paths.ts): only with --auth.
import { createHash } from 'node:crypto';
import { connect } from 'node:net';
import type { Duplex } from 'node:stream';
import { Client, type ServerHostKeyAlgorithm } from 'ssh2';
import type { BastionStateInfo } from '../../ipc/messages';
import { JumpError, type BastionPaths } from './bastion-paths';
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
  return readBanner(connect({ host, port }));
}

/** Reads the SSH identification line from a stream (TCP, or a channel through a jump), then closes it. */
export function readBanner(s: Duplex): Promise<{ banner: string } | { error: string }> {
  return new Promise((resolve) => {
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

/** The host key blob the server presents (key exchange only, then disconnect); `sock`: through a jump. */
export function fetchHostKey(host: string, port: number, expected: string[], sock?: Duplex): Promise<Buffer> {
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
      ...(sock ? { sock } : { host, port }),
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
  const title = `Bastion ${b.name}: ${b.host}:${b.port} reachable${b.jump !== null ? ` through ${b.jump}` : ''}`;
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
    b.jump !== null
      ? `Bastion ${b.jump} could not connect onwards: check the host name and port (as ${b.jump} resolves them), and that the bastion is up.`
      : 'Check the network (VPN, Wi-Fi captive portal), the host name and port, and that the bastion is up.',
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
  paths: BastionPaths | null = null,
): Promise<CheckResult[]> {
  const reachableId = `bastion.${b.name}.reachable`;
  const hostKeyId = `bastion.${b.name}.hostkey`;
  if (b.jump !== null && !paths?.canSignIn) {
    // Forwarding through the jump needs a session signed in there: a touch, so only under --auth.
    const why = [
      `reached through bastion ${b.jump}: checking it needs a sign-in to ${b.jump} (a touch), which keyvnet diag makes only with --auth`,
    ];
    const fix = `Run keyvnet diag --auth to check it through ${b.jump}.`;
    return [
      check(reachableId, `Bastion ${b.name}: reachable through ${b.jump}`, 'skip', why, fix),
      check(hostKeyId, `Bastion ${b.name}: host key`, 'skip', why, fix),
      sessionCheck(b.name, session),
    ];
  }
  // Straight over TCP, or over a channel through the jump (a fresh one for each look).
  const viaJump = b.jump !== null && paths ? (): Promise<Duplex> => paths.open(b) : null;
  let tcp: { banner: string } | { error: string };
  try {
    tcp = viaJump ? await readBanner(await viaJump()) : await probeTcp(b.host, b.port);
  } catch (err) {
    if (err instanceof JumpError) {
      const fix = `See the checks of bastion ${err.jump}.`;
      return [
        check(reachableId, `Bastion ${b.name}: reachable through ${err.jump}`, 'skip', [err.message], fix),
        check(hostKeyId, `Bastion ${b.name}: host key`, 'skip', [err.message], fix),
        sessionCheck(b.name, session),
      ];
    }
    tcp = { error: (err as Error).message };
  }
  const out = [tcpCheck(b, tcp)];
  if ('banner' in tcp && tcp.banner.startsWith('SSH-')) {
    const key = await (
      viaJump
        ? viaJump().then((sock) => fetchHostKey(b.host, b.port, b.expectedKeys, sock))
        : fetchHostKey(b.host, b.port, b.expectedKeys)
    ).catch((err: Error) => ({ error: err.message }));
    out.push(hostKeyCheck(b, key));
  } else {
    out.push(check(hostKeyId, `Bastion ${b.name}: host key`, 'skip', ['not reachable']));
  }
  out.push(sessionCheck(b.name, session));
  return out;
}
