// The SSH transport's contract with the rest of the daemon: what it asks the user's agent (bastion
// settings and signatures, over IPC) and what it reports (per-bastion state for the menu).
import type { Duplex } from 'node:stream';
export type { Dialer } from '../vnet/dialer';

export type BastionPolicy = 'session' | 'connection';

export interface BastionSpec {
  name: string;
  host: string;
  port: number;
  user: string;
  /** Accepted host keys as "type base64" (from config or the user's known_hosts, sent by the agent). */
  hostKeys: string[];
  /** The user's sk key, "sk-ecdsa-sha2-nistp256@openssh.com AAAA... comment" (or sk-ssh-ed25519). */
  publicKey: string;
  /** 'session': one touch serves every connection; 'connection': one session (and touch) each. */
  policy: BastionPolicy;
  keepaliveSec: number;
  maxSessionAgeSec: number;
  /** Name of the bastion this one is reached through (ProxyJump), or null. */
  jump: string | null;
}

/** What a signature is for; the agent shows it in the touch prompt. */
export interface SignPurpose {
  bastion: string;
  host: string;
  user: string;
}

/** Implemented by the daemon over IPC to the user's agent. */
export interface AgentBridge {
  bastion(name: string, signal: AbortSignal): Promise<BastionSpec | null>;
  /**
   * Returns the complete SSH signature blob from the agent (for sk keys: string(type) string(sig)
   * byte flags uint32 counter), unchanged. Reject with a DialError to choose the code the dials
   * fail with (e.g. CANCELLED when the user cancels the prompt); any other error becomes
   * AUTH_DENIED with its message (e.g. "touch was denied on the security key").
   */
  sign(req: { publicKey: string; data: Buffer; purpose: SignPurpose }, signal: AbortSignal): Promise<Buffer>;
}

export type BastionStateName = 'idle' | 'connecting' | 'connected' | 'error';

export interface BastionState {
  name: string;
  state: BastionStateName;
  /** Date.now() of the last change. */
  since: number;
  reason?: string;
  policy: BastionPolicy;
  /** Signatures asked of the agent so far (each is a touch, and a PIN where required). */
  touches: number;
  /** SSH sessions open now. */
  sessions: number;
}

export type SshLog = (level: 'debug' | 'info' | 'warn' | 'error', msg: string) => void;

export interface SshDialerOptions {
  /** Deadline for a session set-up: TCP, key exchange, the touch/PIN, authentication (60 s). */
  setupTimeoutMs?: number;
  /** Deadline for a direct-tcpip channel open on a live session (10 s). */
  channelTimeoutMs?: number;
  /** SSH sessions open at once over all bastions (64). */
  maxSessions?: number;
  /** Channels at once on one session (1024). */
  maxChannelsPerSession?: number;
  /** Dials in progress at once (256). */
  maxDialsInFlight?: number;
  log?: SshLog;
  /**
   * Where each session's ssh2 framing and crypto run: 'main' (this thread) or 'worker' (one
   * worker thread per session, channels bridged back over MessagePorts). Default 'main'.
   */
  thread?: 'main' | 'worker';
  /** Clock for session ages (tests). */
  now?: () => number;
  /**
   * Opens the byte stream to a bastion that is not reached through a jump (default: TCP from
   * this process). Tests use it to reach a bastion in a network namespace.
   */
  connect?: (host: string, port: number, signal: AbortSignal) => Promise<Duplex>;
}

/** DialError codes of the SSH dialer (systemext/vnet/dialer.ts DialError.code). */
export type SshDialErrorCode =
  | 'HOST_KEY_UNKNOWN'
  | 'HOST_KEY_CHANGED'
  | 'AUTH_DENIED'
  | 'UNREACHABLE'
  | 'SETUP_TIMEOUT'
  | 'CHANNEL_REFUSED'
  | 'CHANNEL_TIMEOUT'
  | 'CANCELLED'
  | 'NO_BASTION'
  | 'BUSY';
