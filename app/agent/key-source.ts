// Where the agent's signatures come from: the FIDO security keys plugged in (node-hid), each opened on
// first use and kept while it stays plugged in. With one key, that key; with several, the one that
// holds the credential asked for, found without a touch (OpenSSH's up=false probe,
// findKeyForCredential). With none, the prompter is asked to show "Insert your security key to …"
// and the request waits, listing the devices every 500 ms, until a key appears, the user or the
// caller cancels, or 60 s pass; then it fails with a sentence the prompt and the daemon's event can
// show. A prompter without insertKey (and a call without a request) fails at once instead.
import type { KeySource, KeyWanted, SecurityKey, UserPrompter } from '../fido/api';
import { FidoError } from '../fido/api';
import { listSecurityKeys, openSecurityKey, type AnySecurityKey, type HidDeviceInfo } from '../fido';
import { requestQueue } from '../fido/request-queue';
import { findKeyForCredential } from '../fido/select';
import type { Ctap2SecurityKey } from '../fido/security-key';

/** Device access, injectable for tests. */
export interface KeyDevices {
  list(): Promise<HidDeviceInfo[]>;
  open(path: string, prompter: UserPrompter): Promise<AnySecurityKey>;
}

const NODE_HID: KeyDevices = { list: listSecurityKeys, open: openSecurityKey };

/** How a request waits for a key to be inserted; the clock and the sleep are injectable for tests. */
export interface InsertWait {
  /** Between two device listings (default 500 ms). */
  pollMs: number;
  /** Give up after this long (default 60 s). */
  timeoutMs: number;
  now: () => number;
  /** Resolves after `ms`, or early when `signal` aborts (never rejects). */
  sleep: (ms: number, signal: AbortSignal) => Promise<void>;
  /** A prompt id unique among all prompts (default: from the process's request queue). */
  nextId: () => number;
}

export const DEFAULT_INSERT_WAIT: InsertWait = {
  pollMs: 500,
  timeoutMs: 60_000,
  now: Date.now,
  sleep: (ms, signal) =>
    new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        signal.removeEventListener('abort', done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      signal.addEventListener('abort', done, { once: true });
    }),
  nextId: () => requestQueue.reserveId(),
};

function noKeyError(): FidoError {
  return new FidoError(
    'device-removed',
    'No security key is plugged in: insert your security key and try again.',
  );
}

function seconds(ms: number): string {
  return ms < 1000 ? `${ms} ms` : `${Math.round(ms / 1000)} s`;
}

/**
 * The devices plugged in, waiting for one to be inserted when there is none (see the top of the
 * file). The prompt is shown exactly while this waits.
 */
async function pluggedOrInserted(
  devices: KeyDevices,
  prompter: UserPrompter,
  want: KeyWanted | undefined,
  wait: InsertWait,
): Promise<HidDeviceInfo[]> {
  let plugged = await devices.list();
  if (plugged.length > 0) return plugged;
  if (!want || !prompter.insertKey) throw noKeyError();
  const caller = want.ctx.signal;
  if (caller?.aborted) throw new FidoError('cancelled', 'The operation was cancelled.');
  const userCancel = new AbortController();
  // Wakes the sleep: the user's Cancel or the caller's abort.
  const stop = caller ? AbortSignal.any([userCancel.signal, caller]) : userCancel.signal;
  const ended = new AbortController();
  const deadline = wait.now() + wait.timeoutMs;
  prompter.insertKey({
    requestId: wait.nextId(),
    purpose: want.ctx.purpose,
    signal: ended.signal,
    cancel: () => userCancel.abort(),
    timeoutMs: wait.timeoutMs,
  });
  try {
    for (;;) {
      if (userCancel.signal.aborted) throw new FidoError('cancelled', 'The request was cancelled.');
      if (caller?.aborted) throw new FidoError('cancelled', 'The operation was cancelled.');
      const left = deadline - wait.now();
      if (left <= 0)
        throw new FidoError(
          'timeout',
          `No security key was inserted within ${seconds(wait.timeoutMs)}: insert your security key and try again.`,
        );
      await wait.sleep(Math.min(wait.pollMs, left), stop);
      if (stop.aborted) continue; // said above
      plugged = await devices.list();
      if (plugged.length > 0) return plugged;
    }
  } finally {
    ended.abort();
  }
}

export function pluggedInKey(
  prompter: UserPrompter,
  devices: KeyDevices = NODE_HID,
  insertWait: Partial<InsertWait> = {},
): KeySource {
  const open = new Map<string, Promise<AnySecurityKey>>();
  const wait: InsertWait = { ...DEFAULT_INSERT_WAIT, ...insertWait };
  return async (want?: KeyWanted): Promise<SecurityKey> => {
    const plugged = await pluggedOrInserted(devices, prompter, want, wait);
    // Keys pulled out are forgotten (and closed); the others stay open.
    for (const [path, p] of open)
      if (!plugged.some((d) => d.path === path)) {
        open.delete(path);
        void p.then((k) => k.close()).catch(() => undefined);
      }
    const opened = await Promise.allSettled(
      plugged.map((d) => {
        let p = open.get(d.path);
        if (!p) {
          p = devices.open(d.path, prompter);
          open.set(d.path, p);
          p.catch(() => open.delete(d.path));
        }
        return p;
      }),
    );
    const keys = opened.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
    if (keys.length === 0) throw (opened[0] as PromiseRejectedResult).reason;
    if (keys.length === 1 || !want) return keys[0];
    const ctap2 = keys.filter((k): k is Ctap2SecurityKey => k.kind === 'ctap2');
    const found = await findKeyForCredential(ctap2, want.rpId, want.credentialId, want.ctx);
    if (found) return found;
    // U2F-only keys cannot be probed without a touch: the first of them is the best guess left.
    const u2f = keys.find((k) => k.kind !== 'ctap2');
    if (u2f) return u2f;
    throw new FidoError(
      'no-credentials',
      'None of the plugged-in security keys holds this SSH key (wrong security key?).',
    );
  };
}

/** The test/demo switch `--virtual-key FILE` (with its PIN, touch policy and control socket). */
export interface VirtualKeySwitch {
  statePath: string;
  pin?: string;
  touch: string;
  control?: string;
  /** Start pulled out (`--virtual-key-unplugged`; the control's `plug` puts it in). */
  unplugged?: boolean;
}

/**
 * The agent's security key: the plugged-in one, or, behind `--virtual-key` (tests and the demo only),
 * the virtual authenticator, reached through its one lazily loaded door (app/headless/virtual-key.ts).
 */
export function securityKeySource(virtual: VirtualKeySwitch | null, prompter: UserPrompter): KeySource {
  if (!virtual) return pluggedInKey(prompter);
  /* eslint-disable @typescript-eslint/no-require-imports */
  const { parseTouchPolicy, virtualKey } =
    require('../headless/virtual-key') as typeof import('../headless/virtual-key');
  /* eslint-enable @typescript-eslint/no-require-imports */
  return virtualKey(virtual.statePath, prompter, {
    pin: virtual.pin,
    touch: parseTouchPolicy(virtual.touch),
    control: virtual.control,
    unplugged: virtual.unplugged,
  }).securityKey;
}
