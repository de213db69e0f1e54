// `keyvnet diag --auth`: sign in to each bastion for real (a touch each, and the PIN for
// verify-required keys), with the same SSH session code the daemon uses, then hang up. Only when
// asked: it costs the user a touch.
import { readFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { BastionSession } from '../../systemext/ssh/session';
import type { BastionSpec } from '../../systemext/ssh/types';
import type { BastionConfig } from '../config/types';
import type { SecurityKey } from '../fido/api';
import { readPrivateKeyFile } from '../ssh/keyfile';
import { fingerprint, publicKeyLine, type SkKey } from '../ssh/keys';
import { signWithSkKey } from '../ssh/signer';
import { check, type CheckResult } from './types';

const DEADLINE_MS = 90_000;

function tcp(host: string, port: number, signal: AbortSignal): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect({ host, port });
    const onAbort = (): void => {
      s.destroy();
      reject(new Error('timed out'));
    };
    signal.addEventListener('abort', onAbort, { once: true });
    s.once('connect', () => {
      signal.removeEventListener('abort', onAbort);
      resolve(s);
    });
    s.once('error', (err) => {
      signal.removeEventListener('abort', onAbort);
      reject(err);
    });
  });
}

/** Logs in to `b` with its sk key through `securityKey` (opened on first use), then disconnects. */
export async function authCheck(
  b: BastionConfig,
  hostKeys: string[],
  securityKey: () => Promise<SecurityKey>,
): Promise<CheckResult> {
  const id = `bastion.${b.name}.auth`;
  const title = `Bastion ${b.name}: sign-in as ${b.user} with the security key`;
  if (b.jump !== null)
    return check(id, title, 'skip', [`reached through bastion ${b.jump}: not checked from here`]);
  let key: SkKey;
  try {
    key = readPrivateKeyFile(readFileSync(b.keyPath, 'utf8'));
  } catch (err) {
    return check(
      id,
      title,
      'skip',
      [`${b.keyPath}: ${(err as Error).message}`],
      'Sign-in needs the private sk key file (not only the .pub).',
    );
  }
  const spec: BastionSpec = {
    name: b.name,
    host: b.host,
    port: b.port,
    user: b.user,
    hostKeys,
    publicKey: publicKeyLine(key, key.comment),
    policy: 'connection',
    keepaliveSec: 0,
    maxSessionAgeSec: 0,
    jump: null,
  };
  const signal = AbortSignal.timeout(DEADLINE_MS);
  let touches = 0;
  try {
    const sock = await tcp(b.host, b.port, signal);
    const session = await BastionSession.open({
      spec,
      signal,
      sock,
      onSign: () => touches++,
      bridge: {
        bastion: async () => spec,
        sign: async (req, s) =>
          signWithSkKey(await securityKey(), key, req.data, {
            purpose: { what: 'ssh-login', bastion: b.name, host: b.host, user: b.user, requester: 'app' },
            signal: s,
          }),
      },
    });
    session.close();
    return check(id, title, 'ok', [
      `accepted ${fingerprint(key)} for ${b.user}@${b.host}:${b.port} (${touches} signature)`,
    ]);
  } catch (err) {
    return check(
      id,
      title,
      'fail',
      [(err as Error).message],
      `Check that the bastion's authorized_keys for ${b.user} holds this key (keyvnet key import ${b.keyPath} prints it) and that the touch was given.`,
    );
  }
}
