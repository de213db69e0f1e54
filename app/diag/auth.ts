// `keyvnet diag --auth`: sign in to each bastion for real (a touch each, and the PIN for
// verify-required keys), with the same SSH session code the daemon uses; a bastion behind a `jump` is
// signed in to through its jump's session (bastion-paths.ts). Only when asked: it costs the user a
// touch. The sessions stay open until the report is done (a jump serves the bastions behind it).
import type { BastionConfig } from '../config/types';
import { fingerprint } from '../ssh/keys';
import { JumpError, KeyFileError, SignRefusedError, type BastionPaths } from './bastion-paths';
import { check, type CheckResult } from './types';

export async function authCheck(b: BastionConfig, paths: BastionPaths): Promise<CheckResult> {
  const id = `bastion.${b.name}.auth`;
  const title = `Bastion ${b.name}: sign-in as ${b.user} with the security key`;
  const via = b.jump !== null ? ` through ${b.jump}` : '';
  try {
    const { key, signatures } = await paths.signIn(b.name);
    return check(id, title, 'ok', [
      `accepted ${fingerprint(key)} for ${b.user}@${b.host}:${b.port}${via} (${signatures} signature)`,
    ]);
  } catch (err) {
    if (err instanceof KeyFileError)
      return check(
        id,
        title,
        'skip',
        [err.message],
        'Sign-in needs the private sk key file (not only the .pub).',
      );
    if (err instanceof SignRefusedError)
      return check(
        id,
        title,
        'fail',
        [err.message],
        `The running KeyVNet agent signs sign-ins only to the bastions of its own config, with the key configured there: run keyvnet diag with the agent's config, or with --no-agent to sign in with the security key from this terminal.`,
      );
    if (err instanceof JumpError)
      return check(id, title, 'skip', [err.message], `See the checks of bastion ${err.jump}.`);
    return check(
      id,
      title,
      'fail',
      [(err as Error).message],
      `Check that the bastion's authorized_keys for ${b.user} holds this key (keyvnet key import ${b.keyPath} prints it) and that the touch was given.`,
    );
  }
}
