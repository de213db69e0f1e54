// Several security keys plugged in at once: find the one that holds a credential without asking
// for a touch (OpenSSH's sk_probe), and when that cannot tell (or for enrolment), let the user
// touch the key they mean: every key blinks, the first touched wins, the others stop.
import { FidoError, type OperationContext } from './api';
import type { Ctap2SecurityKey } from './security-key';

/**
 * The key holding `credentialId` for `rpId`. With exactly one key plugged in, that key (as
 * OpenSSH: a credential the probe cannot see, e.g. credProtect level 3, may still be there).
 * null when none holds it and the user must be asked which (selectKeyByTouch).
 */
export async function findKeyForCredential(
  keys: Ctap2SecurityKey[],
  rpId: string,
  credentialId: Buffer,
  ctx: OperationContext,
): Promise<Ctap2SecurityKey | null> {
  if (keys.length === 1) return keys[0];
  for (const k of keys) {
    try {
      if (await k.holdsCredential(rpId, credentialId, ctx)) return k;
    } catch (err) {
      // A key that fails the probe (busy, pulled out) is simply not the one.
      if (err instanceof FidoError && err.code === 'cancelled') throw err;
    }
  }
  return null;
}

/** All keys blink; the first one touched is returned and the others are cancelled. */
export async function selectKeyByTouch(
  keys: Ctap2SecurityKey[],
  ctx: OperationContext,
): Promise<Ctap2SecurityKey> {
  if (keys.length === 0) throw new FidoError('device-removed', 'No security key is plugged in.');
  if (keys.length === 1) return keys[0];
  const stop = new AbortController();
  const onAbort = (): void => stop.abort(ctx.signal?.reason);
  ctx.signal?.addEventListener('abort', onAbort, { once: true });
  const purpose = { ...ctx.purpose, what: 'select-key' as const };
  try {
    const tries = keys.map((k) =>
      k.selectByTouch({ purpose, signal: stop.signal, timeoutMs: ctx.timeoutMs }).then(() => k),
    );
    const chosen = await Promise.any(tries).catch((err: AggregateError) => {
      const errors = err.errors as Error[];
      throw errors.find((e) => !(e instanceof FidoError && e.code === 'unsupported')) ?? errors[0];
    });
    return chosen;
  } finally {
    stop.abort(new FidoError('cancelled', 'Another security key was chosen.'));
    ctx.signal?.removeEventListener('abort', onAbort);
  }
}
