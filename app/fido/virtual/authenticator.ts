// The virtual FIDO2 authenticator: a software security key for tests and the Linux demo.
// connect() "plugs it in" and returns a report-level HID device for the normal transport;
// unplug() pulls it out. Touches are simulated by a policy or by touch()/deny().

import { EventEmitter } from 'node:events';
import { COSE_EDDSA, COSE_ES256, type CoseAlgorithm } from '../api';
import type { HidReportDevice } from '../hid/report-device';
import { pinHash16 } from '../ctap2/pin-protocol';
import { Ctap2Engine } from './ctap2-engine';
import { VirtualHidDevice } from './hid-device';
import { freshState, MAX_PIN_RETRIES, VirtualKeyStore } from './state';
import { TouchController, type TouchPolicy } from './touch';
import { U2fEngine } from './u2f-engine';

export interface VirtualAuthenticatorOptions {
  /** Keep the key's state (master secret, PIN, counter, resident credentials) in this JSON file. */
  statePath?: string;
  /** Product name shown in the UI. */
  label?: string;
  /** Set this PIN on a fresh key (ignored when statePath already holds a key). */
  pin?: string;
  /** Who touches the key; default: touched at once. */
  touch?: TouchPolicy;
  /** USER_ACTION_TIMEOUT after this long without a touch (default 30 s). */
  touchTimeoutMs?: number;
  /** KEEPALIVE period while waiting for a touch (default 100 ms, as the spec suggests). */
  keepaliveIntervalMs?: number;
  attestation?: 'packed' | 'none';
  algorithms?: CoseAlgorithm[];
  pinProtocols?: (1 | 2)[];
  /** Simulate a U2F-only key (no CBOR capability). */
  ctap1Only?: boolean;
  /** Answer U2F (CTAP1) over CTAPHID_MSG too, like most real keys (default true). */
  u2f?: boolean;
  /** Drop a half-received CTAPHID message after this long (ERR_MSG_TIMEOUT; default 3 s). */
  messageTimeoutMs?: number;
  /** CTAP2 extensions it supports (default ['credProtect']; [] for an old key without it). */
  extensions?: string[];
  /** A fingerprint key: built-in UV, a "finger" being touch() (deny() is a finger not recognised). */
  builtInUv?: boolean;
  /** getInfo minPINLength (default 4). */
  minPinLength?: number;
  /** getInfo option noMcGaPermissionsWithClientPin. */
  noMcGaPermissionsWithClientPin?: boolean;
}

let serial = 0;

/**
 * Events: 'touch-needed' () when it starts waiting for a touch, 'touch-done' (outcome),
 * 'wink' ().
 */
export class VirtualAuthenticator extends EventEmitter {
  readonly store: VirtualKeyStore;
  readonly touchController: TouchController;
  readonly label: string;
  readonly path: string;
  private engine: Ctap2Engine | null = null;
  private device: VirtualHidDevice | null = null;
  private power: AbortController | null = null;

  constructor(private readonly opts: VirtualAuthenticatorOptions = {}) {
    super();
    const initial = freshState();
    if (opts.pin !== undefined) initial.pinHash = pinHash16(opts.pin).toString('hex');
    this.store = new VirtualKeyStore(opts.statePath, initial);
    this.touchController = new TouchController(
      opts.touch ?? { mode: 'auto', afterMs: 0 },
      opts.touchTimeoutMs ?? 30_000,
      opts.keepaliveIntervalMs ?? 100,
    );
    this.touchController.on('waiting', () => this.emit('touch-needed'));
    this.touchController.on('done', (o) => this.emit('touch-done', o));
    this.label = opts.label ?? 'KeyVNet virtual key';
    this.path = `virtual:${process.pid}:${++serial}`;
  }

  /** Plug the key in (a power-up: PIN tokens and the wrong-PIN streak are forgotten). */
  connect(): HidReportDevice {
    this.unplug();
    this.power = new AbortController();
    const u2f = this.opts.u2f ?? true;
    const msg =
      u2f || this.opts.ctap1Only ? new U2fEngine(this.store, this.touchController, this.power.signal) : null;
    this.engine = new Ctap2Engine(this.store, this.touchController, {
      attestation: this.opts.attestation ?? 'packed',
      algorithms: this.opts.algorithms ?? [COSE_ES256, COSE_EDDSA],
      pinProtocols: this.opts.pinProtocols ?? [2, 1],
      maxMsgSize: 1200,
      extensions: this.opts.extensions ?? ['credProtect'],
      builtInUv: this.opts.builtInUv ?? false,
      minPinLength: this.opts.minPinLength ?? 4,
      noMcGaPermissionsWithClientPin: this.opts.noMcGaPermissionsWithClientPin ?? false,
    });
    const device = new VirtualHidDevice(
      {
        path: this.path,
        vendorId: 0x1209, // pid.codes open-source vendor id
        productId: 0x4b56,
        product: this.label,
        manufacturer: 'KeyVNet',
      },
      this.engine,
      {
        ctap1Only: this.opts.ctap1Only ?? false,
        msg,
        messageTimeoutMs: this.opts.messageTimeoutMs ?? 3000,
        version: [1, 0, 0],
      },
    );
    device.on('wink', () => this.emit('wink'));
    this.device = device;
    return device;
  }

  /** Pull the key out; the connected transport sees 'removed'. */
  unplug(): void {
    this.device?.unplug();
    this.power?.abort();
    this.device = null;
    this.engine = null;
    this.power = null;
  }

  get plugged(): boolean {
    return this.device !== null && !this.device.closed;
  }

  /** The engine of the current power cycle (test hooks such as fixed key-agreement keys). */
  get currentEngine(): Ctap2Engine | null {
    return this.engine;
  }

  setTouchPolicy(policy: TouchPolicy): void {
    this.touchController.policy = policy;
  }

  /** Touch the key now; false when it was not waiting. */
  touch(): boolean {
    return this.touchController.touch();
  }

  deny(): boolean {
    return this.touchController.deny();
  }

  get pinRetries(): number {
    return this.store.state.pinRetries;
  }

  get hasPin(): boolean {
    return this.store.state.pinHash !== null;
  }

  get signCount(): number {
    return this.store.state.signCount;
  }

  static readonly maxPinRetries = MAX_PIN_RETRIES;
}
