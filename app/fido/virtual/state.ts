// Persistent state of the virtual authenticator: what a real key keeps in flash. In memory, or
// in a JSON file so the Linux demo keeps its key (and thus its ssh credentials) across runs.
//
// The master secret (which wraps every credential's private key) is stored in plain text on
// purpose: this key exists for tests and the demo only (app/fido/testing.ts, never exported to
// production code), it protects nothing real, and a test must be able to inspect it. What keeps
// it from other users is the file mode: the directory is created 0700 and the file 0600.

import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

export const MAX_PIN_RETRIES = 8;

export interface ResidentCredential {
  rpId: string;
  userId: string; // hex
  userName: string;
  credentialId: string; // hex
}

export interface VirtualKeyState {
  version: 1;
  /** Wraps credential private keys into credential ids (hex, 32 bytes). */
  masterSecret: string;
  aaguid: string; // hex, 16 bytes
  /** LEFT(SHA-256(PIN), 16) in hex, as real keys store it; null when no PIN is set. */
  pinHash: string | null;
  pinRetries: number;
  /** The PIN must be changed before it unlocks anything (getInfo forcePINChange). */
  forcePinChange?: boolean;
  signCount: number;
  residentCredentials: ResidentCredential[];
}

export function freshState(): VirtualKeyState {
  return {
    version: 1,
    masterSecret: randomBytes(32).toString('hex'),
    aaguid: randomBytes(16).toString('hex'),
    pinHash: null,
    pinRetries: MAX_PIN_RETRIES,
    signCount: 0,
    residentCredentials: [],
  };
}

const HEX = /^[0-9a-f]*$/;

function validate(v: unknown, path: string): VirtualKeyState {
  const bad = (why: string) => new Error(`Virtual security key state ${path} is invalid: ${why}.`);
  if (typeof v !== 'object' || v === null) throw bad('not a JSON object');
  const s = v as Record<string, unknown>;
  if (s.version !== 1) throw bad('unknown version');
  const hex = (k: string, len: number) => {
    if (typeof s[k] !== 'string' || !HEX.test(s[k] as string) || (s[k] as string).length !== len * 2) {
      throw bad(`${k} must be ${len} bytes of hex`);
    }
  };
  hex('masterSecret', 32);
  hex('aaguid', 16);
  if (s.pinHash !== null) hex('pinHash', 16);
  for (const k of ['pinRetries', 'signCount']) {
    if (typeof s[k] !== 'number' || !Number.isInteger(s[k]) || (s[k] as number) < 0)
      throw bad(`${k} must be a count`);
  }
  if ((s.pinRetries as number) > MAX_PIN_RETRIES) throw bad('pinRetries is too large');
  if (s.forcePinChange !== undefined && typeof s.forcePinChange !== 'boolean')
    throw bad('forcePinChange must be true or false');
  if (!Array.isArray(s.residentCredentials)) throw bad('residentCredentials must be a list');
  for (const c of s.residentCredentials as unknown[]) {
    const r = c as Record<string, unknown>;
    if (typeof r !== 'object' || r === null || typeof r.rpId !== 'string' || typeof r.userName !== 'string') {
      throw bad('a resident credential is malformed');
    }
    if (
      typeof r.userId !== 'string' ||
      !HEX.test(r.userId) ||
      typeof r.credentialId !== 'string' ||
      !HEX.test(r.credentialId)
    ) {
      throw bad('a resident credential id is not hex');
    }
  }
  return s as unknown as VirtualKeyState;
}

/** The state plus where it is saved. `save()` after every change, like a key writing flash. */
export class VirtualKeyStore {
  readonly state: VirtualKeyState;

  constructor(
    private readonly path?: string,
    initial?: VirtualKeyState,
  ) {
    if (path) {
      let text: string | null = null;
      try {
        text = readFileSync(path, 'utf8');
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      }
      if (text !== null) {
        let parsed: unknown;
        try {
          parsed = JSON.parse(text);
        } catch (err) {
          throw new Error(`Virtual security key state ${path} is not valid JSON: ${(err as Error).message}.`);
        }
        this.state = validate(parsed, path);
        return;
      }
    }
    this.state = initial ?? freshState();
    this.save();
  }

  save(): void {
    if (!this.path) return;
    mkdirSync(dirname(this.path), { recursive: true, mode: 0o700 });
    // Write then rename, so a crash never leaves a half-written key behind.
    const tmp = `${this.path}.${process.pid}.tmp`;
    writeFileSync(tmp, JSON.stringify(this.state, null, 2) + '\n', { mode: 0o600 });
    renameSync(tmp, this.path);
  }
}
