// What `keyvnet key …` does to a security key, wherever it runs: in the running agent (asked over its
// control socket, app/agent/control-service.ts, with the agent's prompter) or in the command itself
// when no agent runs (app/cli/commands/key.ts, with the terminal's). Returns data; the command words
// it. Failures are KeyOpErrors whose `reason` the command turns into an exit code.
import type { AnySecurityKey } from '../fido/open';
import { FidoError, type PinPrompt, type Purpose } from '../fido/api';
import { describeKey, type KeyInfo } from '../diag/key-info';
import { enrollSkKey } from '../ssh/enroll';
import type { SkKey } from '../ssh/keys';
import { listResidentSshKeys, type ResidentSshKey } from '../ssh/resident';

/** 'no-key': none plugged in (or gone); 'cancelled': the user gave no PIN or cancelled; else 'failed'. */
export type KeyOpReason = 'no-key' | 'cancelled' | 'failed';

export class KeyOpError extends Error {
  constructor(
    message: string,
    readonly reason: KeyOpReason,
    /** Extra lines for the user (a hint). */
    readonly details: string[] = [],
  ) {
    super(message);
    this.name = 'KeyOpError';
  }
}

/** A FidoError as a KeyOpError (the key's sentence kept); anything else unchanged. */
export function asKeyOpError(err: unknown): Error {
  if (!(err instanceof FidoError)) return err as Error;
  if (err.code === 'cancelled' || err.code === 'pin-required')
    return new KeyOpError(err.message, 'cancelled');
  if (err.code === 'device-removed') return new KeyOpError(err.message, 'no-key');
  return new KeyOpError(err.message, 'failed');
}

export interface KeyHandle {
  path: string;
  product: string;
}

/** The plugged-in keys, and a way to run an operation on one (opened and released as its owner does). */
export interface KeyAccess {
  list(): Promise<KeyHandle[]>;
  use<T>(key: KeyHandle, fn: (key: AnySecurityKey) => Promise<T>): Promise<T>;
}

/** What an operation needs from whoever runs it. */
export interface KeyOpContext {
  /** Ends the operation (the CLI went away, a deadline): prompts close, the key stops blinking. */
  signal?: AbortSignal;
  /** A line of progress for the user ("Creating an ecdsa-sk key on …"). */
  note(message: string): void;
  /** Asks a PIN (the prompter's askPin); null = cancelled. */
  askPin(req: PinPrompt): Promise<string | null>;
  /** The purpose of each request this operation makes (the agent tags them to follow its prompts). */
  purpose(what: Purpose['what'], extra?: Partial<Purpose>): Purpose;
}

export interface KeyRow {
  path: string;
  product: string;
  info: KeyInfo | null;
  error: string | null;
}

/** Every plugged-in key with what it says about itself (no touch, no PIN). */
export async function listKeyRows(access: KeyAccess): Promise<KeyRow[]> {
  const rows: KeyRow[] = [];
  for (const k of await access.list()) {
    try {
      rows.push({ ...k, info: await access.use(k, describeKey), error: null });
    } catch (err) {
      rows.push({ ...k, info: null, error: (err as Error).message });
    }
  }
  return rows;
}

/** The key to use: `device`, else the only (or first) plugged-in key. */
export async function chooseKey(
  access: KeyAccess,
  device: string | undefined,
  note: (message: string) => void,
): Promise<KeyHandle> {
  const keys = await access.list();
  if (keys.length === 0)
    throw new KeyOpError('no security key is plugged in', 'no-key', [
      'Plug in your FIDO2 key and try again.',
    ]);
  if (device !== undefined) {
    const k = keys.find((x) => x.path === device);
    if (!k) throw new KeyOpError(`no security key at ${device} (see keyvnet key list)`, 'no-key');
    return k;
  }
  if (keys.length > 1)
    note(`note: ${keys.length} keys plugged in; using ${keys[0].product} (--device to choose)`);
  return keys[0];
}

async function onKey<T>(
  access: KeyAccess,
  device: string | undefined,
  op: KeyOpContext,
  fn: (k: AnySecurityKey) => Promise<T>,
): Promise<T> {
  const chosen = await chooseKey(access, device, op.note);
  try {
    return await access.use(chosen, fn);
  } catch (err) {
    throw asKeyOpError(err);
  }
}

export interface EnrollSpec {
  device?: string;
  type: 'ecdsa' | 'ed25519';
  application: string;
  resident: boolean;
  verifyRequired: boolean;
  noTouchRequired: boolean;
  comment: string;
}

/** A new sk key on the chosen key (a touch; the PIN when the key has one and asks for it). */
export function enrollKey(access: KeyAccess, spec: EnrollSpec, op: KeyOpContext): Promise<SkKey> {
  return onKey(access, spec.device, op, async (k) => {
    op.note(`Creating an ${spec.type}-sk key on ${k.label}…`);
    const { key } = await enrollSkKey(
      k,
      {
        algorithm: spec.type,
        application: spec.application,
        resident: spec.resident,
        verifyRequired: spec.verifyRequired,
        noTouchRequired: spec.noTouchRequired,
        comment: spec.comment,
      },
      { purpose: op.purpose('enroll', { keyComment: spec.comment || undefined }), signal: op.signal },
    );
    return key;
  });
}

/** Sets the first PIN (asked twice); returns the key's label. */
export function setPin(access: KeyAccess, device: string | undefined, op: KeyOpContext): Promise<string> {
  return onKey(access, device, op, async (k) => {
    if (k.kind !== 'ctap2') throw new KeyOpError('this key only speaks U2F: it has no PIN', 'failed');
    if (k.pinSet === true)
      throw new KeyOpError('the key already has a PIN: use keyvnet key pin change', 'failed');
    if (k.pinSet === undefined) throw new KeyOpError('this key does not support a PIN', 'failed');
    const purpose = op.purpose('set-pin');
    const pin = await askNewPin(op, k.label, purpose);
    await k.setPin(pin, { purpose, signal: op.signal });
    return k.label;
  });
}

/** Changes the PIN: the current one, then the new one twice. A wrong current PIN is not retried. */
export function changePin(access: KeyAccess, device: string | undefined, op: KeyOpContext): Promise<string> {
  return onKey(access, device, op, async (k) => {
    if (k.kind !== 'ctap2') throw new KeyOpError('this key only speaks U2F: it has no PIN', 'failed');
    if (k.pinSet !== true) throw new KeyOpError('the key has no PIN yet: use keyvnet key pin set', 'failed');
    const purpose = op.purpose('change-pin');
    const current = await ask(op, pinPrompt(k.label, purpose, await k.getPinRetries(), 'current', op.signal));
    const next = await askNewPin(op, k.label, purpose);
    await k.changePin(current, next, { purpose, signal: op.signal });
    return k.label;
  });
}

/** The SSH keys stored on the chosen key (credential management: the PIN or the fingerprint). */
export function residentKeys(
  access: KeyAccess,
  device: string | undefined,
  op: KeyOpContext,
): Promise<ResidentSshKey[]> {
  return onKey(access, device, op, async (k) => {
    if (k.kind !== 'ctap2') throw new KeyOpError('this key only speaks U2F: it stores no SSH keys', 'failed');
    return listResidentSshKeys(k, { purpose: op.purpose('list-resident'), signal: op.signal });
  });
}

function pinPrompt(
  keyLabel: string,
  purpose: Purpose,
  retriesLeft: number | null,
  entry: PinPrompt['entry'],
  signal: AbortSignal | undefined,
): PinPrompt {
  return {
    requestId: 0,
    keyLabel,
    purpose,
    signal: signal ?? new AbortController().signal,
    retriesLeft,
    entry,
  };
}

async function ask(op: KeyOpContext, req: PinPrompt): Promise<string> {
  const pin = await op.askPin(req);
  if (pin === null) throw new KeyOpError('no PIN entered', 'cancelled');
  return pin;
}

/** The new PIN, typed twice; a mismatch or an empty answer ends the operation (nothing reaches the key). */
async function askNewPin(op: KeyOpContext, label: string, purpose: Purpose): Promise<string> {
  const first = await ask(op, pinPrompt(label, purpose, null, 'new', op.signal));
  if ([...first].length < 4 || Buffer.byteLength(first) > 63)
    throw new KeyOpError('a security key PIN has 4 to 63 characters', 'failed');
  const again = await ask(op, pinPrompt(label, purpose, null, 'repeat', op.signal));
  if (again !== first) throw new KeyOpError('the two PINs differ; nothing was changed', 'failed');
  return first;
}
