// The ssh-agent: serves the user's sk keys on a private Unix socket so their own `ssh` and `git`
// sign with the security key, with touch/PIN prompts from the agent app (UserPrompter).
// Each client's requests are answered in order; clients run concurrently; signatures are serialized
// per security key by the RequestQueue. Nothing a client sends can crash the agent: bad frames close
// that client with a logged reason.
//
// Beyond signing (PROTOCOL.agent): `ssh-add` of sk key files (ADD_IDENTITY / ADD_ID_CONSTRAINED with
// the confirm and lifetime constraints; the sk-provider extension is ignored: we are the provider),
// `ssh-add -d/-D` (configured keys are hidden for this run), `ssh-add -x/-X` (LOCK/UNLOCK; the lock
// passphrase is kept only as a salted scrypt hash), session-bind@openssh.com (the server's signature
// over the session id is verified and the host shown in prompts), peers refused unless they run as
// our uid or root, and a client that disconnects cancels its pending signature.
import { EventEmitter } from 'node:events';
import { randomBytes, scryptSync, timingSafeEqual } from 'node:crypto';
import { chmodSync, lstatSync, mkdirSync, readFileSync, unlinkSync } from 'node:fs';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import type { KeySource, OperationContext, Purpose, UserPrompter } from '../fido/api';
import { requestQueue } from '../fido/request-queue';
import {
  AgentFrameDecoder,
  encodeFailure,
  encodeIdentitiesAnswer,
  encodeSignResponse,
  encodeSuccess,
  frame,
  parseAgentRequest,
  type AddConstraints,
  type AgentRequest,
} from './agent-protocol';
import { hostKeyFingerprint, hostNameForKey, verifyHostKeySignature } from './hostkey';
import { isLocked, type AgentKey } from './key-unlock';
import { encodePublicKeyBlob, fingerprint, type SkKey, type SkPublicKey } from './keys';
import { parseSignedData } from './signed-data';
import { describeSignError, signWithSkKey } from './signer';
import { SshReader } from './wire';

/** A client (ssh asks one thing at a time) with this many unanswered requests is misbehaving. */
const MAX_QUEUED_REQUESTS = 64;
/** Keys `ssh-add` may add (each is a few hundred bytes; a runaway client must not grow us). */
const MAX_ADDED_KEYS = 256;
/** session-bind records per connection (ssh adds one per hop when forwarding). */
const MAX_BINDINGS = 16;

export type AgentLogLevel = 'debug' | 'info' | 'warn' | 'error';

/** Who is at the other end of the socket (from the kernel, not from the client). */
export interface AgentPeer {
  uid: number;
  pid: number;
}

export interface SshAgentOptions {
  /**
   * The configured keys to offer, read at every request (enrolling or removing a key needs no
   * restart). Locked ones (passphrase files, key-unlock.ts) are listed and opened on first use.
   */
  keys: () => AgentKey[];
  /**
   * The security key to sign with; rejects (e.g. "no security key plugged in") when there is none.
   * Return the same object while the key stays plugged in: signatures are serialized per object.
   */
  securityKey: KeySource;
  /** Asks `ssh-add -c` confirmations; without one, confirm-constrained keys are refused. */
  prompter?: UserPrompter;
  /** Default: warnings and errors to stderr. */
  log?: (level: AgentLogLevel, message: string) => void;
  /** Cap on one sign request once it reaches the key, touch and PIN included (default 120 s). */
  requestTimeoutMs?: number;
  /** A client that stops in the middle of a frame is dropped after this (default 30 s). */
  partialFrameTimeoutMs?: number;
  /**
   * The peer's credentials (default: SO_PEERCRED / LOCAL_PEERCRED through native-bindings).
   * null when they cannot be read: the client is then refused.
   */
  peerCredentials?: (sock: Socket) => AgentPeer | null;
  /** known_hosts files for naming bound hosts in prompts (default ~/.ssh/known_hosts). */
  knownHostsFiles?: string[];
}

export interface SignEvent {
  fingerprint: string;
  ok: boolean;
  /** Human reason when !ok, e.g. "touch was denied on the security key". */
  reason?: string;
}

/** A key added with ssh-add. */
interface AddedKey {
  key: SkKey;
  confirm: boolean;
  expiry: NodeJS.Timeout | null;
}

/** One client connection. */
interface Client {
  peer: AgentPeer | null;
  /** Aborts when the client disconnects: its pending signature is cancelled. */
  gone: AbortController;
  /** session-bind@openssh.com records, in order (the last is the host we talk to). */
  bindings: { hostKey: Buffer; sessionId: Buffer; forwarding: boolean }[];
}

/**
 * Events: 'sign' (SignEvent) after every sign request, 'log' (level, message) for every log line.
 */
export class SshAgent extends EventEmitter {
  private server: Server | null = null;
  private readonly clients = new Set<Socket>();
  private readonly inFlight = new Set<AbortController>();
  private readonly opts: Required<Omit<SshAgentOptions, 'prompter'>> & Pick<SshAgentOptions, 'prompter'>;
  private socketPath = '';
  private readonly added = new Map<string, AddedKey>();
  /** Configured keys removed with ssh-add -d/-D, hidden until the agent restarts or they are added again. */
  private readonly hidden = new Set<string>();
  private lockHash: { salt: Buffer; hash: Buffer } | null = null;
  /** Confirmations are asked one at a time (their own lane in the RequestQueue). */
  private readonly confirmLane = {};

  constructor(opts: SshAgentOptions) {
    super();
    this.opts = {
      log: (level, message) => {
        if (level === 'warn' || level === 'error') console.error(`ssh-agent: ${message}`);
      },
      requestTimeoutMs: 120_000,
      partialFrameTimeoutMs: 30_000,
      peerCredentials: defaultPeerCredentials,
      knownHostsFiles: [join(homedir(), '.ssh', 'known_hosts')],
      ...opts,
    };
  }

  private log(level: AgentLogLevel, message: string): void {
    this.opts.log(level, message);
    this.emit('log', level, message);
  }

  /**
   * Listens on `path`, socket mode 0600. Its directory is created 0700 if missing and must be
   * private (ours, no group/other access) if it exists. Refuses if another agent is live there.
   */
  async listen(path: string): Promise<void> {
    ensurePrivateDirectory(dirname(path));
    await removeStaleSocket(path);
    const server = createServer({ allowHalfOpen: true }, (sock) => this.serve(sock));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(path, () => {
        server.off('error', reject);
        resolve();
      });
    });
    // The directory is already private; the mode on the socket itself is a second fence.
    chmodSync(path, 0o600);
    server.on('error', (err) => this.log('error', `listening socket error: ${err.message}`));
    this.server = server;
    this.socketPath = path;
    this.log('info', `listening on ${path}`);
  }

  get path(): string {
    return this.socketPath;
  }

  /** Is the agent locked (ssh-add -x)? */
  get locked(): boolean {
    return this.lockHash !== null;
  }

  async close(): Promise<void> {
    const server = this.server;
    this.server = null;
    for (const ac of this.inFlight) ac.abort(new Error('the agent is stopping'));
    for (const c of this.clients) c.destroy();
    for (const a of this.added.values()) if (a.expiry) clearTimeout(a.expiry);
    this.added.clear();
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
    try {
      unlinkSync(this.socketPath);
    } catch {
      /* already gone */
    }
  }

  private serve(sock: Socket): void {
    const peer = this.checkPeer(sock);
    if (peer === false) return;
    this.clients.add(sock);
    const client: Client = { peer, gone: new AbortController(), bindings: [] };
    const decoder = new AgentFrameDecoder();
    let queue = Promise.resolve();
    let queued = 0;
    let partialTimer: NodeJS.Timeout | null = null;
    const drop = (why: string): void => {
      this.log('warn', `closing client: ${why}`);
      sock.destroy();
    };
    sock.on('data', (chunk) => {
      let bodies: Buffer[];
      try {
        bodies = decoder.push(chunk);
      } catch (err) {
        drop((err as Error).message);
        return;
      }
      if (partialTimer) clearTimeout(partialTimer);
      partialTimer = null;
      if (decoder.pending > 0) {
        partialTimer = setTimeout(
          () => drop(`incomplete frame (${decoder.pending} bytes) and nothing more for a while`),
          this.opts.partialFrameTimeoutMs,
        );
      }
      queued += bodies.length;
      if (queued > MAX_QUEUED_REQUESTS) {
        drop(`more than ${MAX_QUEUED_REQUESTS} requests waiting for answers`);
        return;
      }
      for (const body of bodies) {
        // Answers go out in request order, as the protocol requires.
        queue = queue.then(async () => {
          const answer = await this.handle(body, client);
          queued--;
          if (!sock.destroyed) sock.write(frame(answer));
        });
      }
    });
    sock.on('end', () => {
      if (decoder.pending > 0)
        this.log('warn', `client closed in the middle of a frame (${decoder.pending} bytes)`);
      // The client closed its side: as in OpenSSH's agent, that is the client going away. A
      // signature still waiting for the user is cancelled (the key stops blinking); quick answers
      // already asked for still go out in case it only half-closed, then our side closes.
      client.gone.abort(new Error('the client disconnected'));
      void queue.then(() => sock.end());
    });
    sock.on('error', (err) => this.log('debug', `client socket error: ${err.message}`));
    sock.on('close', () => {
      if (partialTimer) clearTimeout(partialTimer);
      this.clients.delete(sock);
      // Nobody is left to read the answer: stop the key blinking and close the prompt.
      client.gone.abort(new Error('the client disconnected'));
    });
  }

  /** Our uid or root only (as OpenSSH's ssh-agent); false when the client was refused. */
  private checkPeer(sock: Socket): AgentPeer | null | false {
    let peer: AgentPeer | null;
    try {
      peer = this.opts.peerCredentials(sock);
    } catch (err) {
      peer = null;
      this.log('debug', `peer credentials unavailable: ${(err as Error).message}`);
    }
    const me = process.getuid?.();
    if (me === undefined) return peer; // no uids on this platform
    if (peer === null) {
      this.log('warn', 'refusing a client whose credentials cannot be read');
      sock.destroy();
      return false;
    }
    if (peer.uid !== me && peer.uid !== 0) {
      this.log(
        'warn',
        `refusing a client running as uid ${peer.uid} (pid ${peer.pid}); only uid ${me} and root may use this agent`,
      );
      sock.destroy();
      return false;
    }
    return peer;
  }

  /** Every key offered now: added ones first (as ssh-agent lists them), then configured ones. */
  private offered(): { key: SkKey | AgentKey; blob: Buffer; added?: AddedKey }[] {
    const out: { key: SkKey | AgentKey; blob: Buffer; added?: AddedKey }[] = [];
    const seen = new Set<string>();
    for (const a of this.added.values()) {
      const blob = encodePublicKeyBlob(a.key);
      seen.add(blob.toString('hex'));
      out.push({ key: a.key, blob, added: a });
    }
    for (const k of this.opts.keys()) {
      const blob = encodePublicKeyBlob(publicOf(k));
      const id = blob.toString('hex');
      if (seen.has(id) || this.hidden.has(id)) continue;
      seen.add(id);
      out.push({ key: k, blob });
    }
    return out;
  }

  /** Answers one message body; never throws. */
  private async handle(body: Buffer, client: Client): Promise<Buffer> {
    let req: AgentRequest;
    try {
      req = parseAgentRequest(body);
    } catch (err) {
      this.log('warn', `malformed request: ${(err as Error).message}`);
      return encodeFailure();
    }
    try {
      // A locked agent lists nothing and does nothing but UNLOCK (ssh-agent.c).
      if (this.lockHash && req.kind !== 'unlock') {
        if (req.kind === 'request-identities') return encodeIdentitiesAnswer([]);
        this.log('info', `refused while locked: ${req.kind}`);
        return encodeFailure();
      }
      switch (req.kind) {
        case 'request-identities':
          return encodeIdentitiesAnswer(
            this.offered().map((o) => ({ keyBlob: o.blob, comment: commentOf(o.key) })),
          );
        case 'sign':
          return await this.sign(req.keyBlob, req.data, client);
        case 'add':
          return this.add(req.key, req.constraints);
        case 'add-unsupported':
          this.log(
            'info',
            `ssh-add of a ${req.keyType} key refused: this agent holds security-key (sk) keys only`,
          );
          return encodeFailure();
        case 'remove':
          return this.remove(req.keyBlob);
        case 'remove-all':
          for (const o of this.offered()) this.remove(o.blob);
          return encodeSuccess();
        case 'lock':
          this.lockHash = lockHash(req.passphrase);
          this.log('info', 'agent locked');
          return encodeSuccess();
        case 'unlock':
          return this.unlock(req.passphrase);
        case 'extension':
          return this.extension(req.name, req.contents, client);
        default:
          this.log('debug', `unsupported request type ${req.type}`);
          return encodeFailure();
      }
    } catch (err) {
      this.log('error', `request failed: ${(err as Error).message}`);
      return encodeFailure();
    }
  }

  private add(key: SkKey, c: AddConstraints): Buffer {
    const blob = encodePublicKeyBlob(key);
    const id = blob.toString('hex');
    const old = this.added.get(id);
    if (!old && this.added.size >= MAX_ADDED_KEYS) {
      this.log('warn', `ssh-add refused: already ${MAX_ADDED_KEYS} keys added`);
      return encodeFailure();
    }
    if (old?.expiry) clearTimeout(old.expiry);
    const entry: AddedKey = { key, confirm: c.confirm, expiry: null };
    if (c.lifetime !== undefined) {
      entry.expiry = setTimeout(() => {
        if (this.added.get(id) === entry) this.added.delete(id);
        this.log('info', `key ${fingerprint(key)} expired (ssh-add -t)`);
      }, c.lifetime * 1000);
      entry.expiry.unref();
    }
    this.added.set(id, entry);
    this.hidden.delete(id);
    this.log('info', `added ${fingerprint(key)}${c.confirm ? ' (confirm each use)' : ''}`);
    return encodeSuccess();
  }

  private remove(blob: Buffer): Buffer {
    const id = blob.toString('hex');
    const added = this.added.get(id);
    if (added) {
      if (added.expiry) clearTimeout(added.expiry);
      this.added.delete(id);
    }
    const configured = this.opts.keys().some((k) => encodePublicKeyBlob(publicOf(k)).equals(blob));
    if (configured) this.hidden.add(id);
    return added || configured ? encodeSuccess() : encodeFailure();
  }

  private unlock(passphrase: Buffer): Buffer {
    const lock = this.lockHash;
    if (!lock) return encodeFailure();
    const given = scryptSync(passphrase, lock.salt, 32);
    if (!timingSafeEqual(given, lock.hash)) {
      this.log('warn', 'wrong agent unlock passphrase');
      return encodeFailure();
    }
    this.lockHash = null;
    this.log('info', 'agent unlocked');
    return encodeSuccess();
  }

  private async sign(keyBlob: Buffer, data: Buffer, client: Client): Promise<Buffer> {
    const found = this.offered().find((o) => o.blob.equals(keyBlob));
    if (!found) {
      this.log('debug', 'sign request for a key this agent does not hold');
      return encodeFailure();
    }
    const fp = fingerprint(publicOf(found.key));
    const ac = new AbortController();
    const onGone = (): void => ac.abort(client.gone.signal.reason);
    if (client.gone.signal.aborted) onGone();
    client.gone.signal.addEventListener('abort', onGone, { once: true });
    this.inFlight.add(ac);
    try {
      const purpose = this.purposeFor(data, found.key, client);
      // The timeout runs from when the request reaches the key (RequestQueue), not from now.
      const ctx: OperationContext = { purpose, signal: ac.signal, timeoutMs: this.opts.requestTimeoutMs };
      if (found.added?.confirm) await this.confirm(found.added.key, ctx);
      const key = isLocked(found.key) ? await found.key.unlock(ctx) : (found.key as SkKey);
      const sk = await this.opts.securityKey({ rpId: key.application, credentialId: key.keyHandle, ctx });
      const sig = await signWithSkKey(sk, key, data, ctx);
      this.log('info', `signed with ${fp} (${purpose.what}${purpose.host ? ` to ${purpose.host}` : ''})`);
      this.emit('sign', { fingerprint: fp, ok: true } satisfies SignEvent);
      return encodeSignResponse(sig);
    } catch (err) {
      const reason = ac.signal.aborted ? (ac.signal.reason as Error).message : describeSignError(err);
      this.log('warn', `signing with ${fp} failed: ${reason}`);
      this.emit('sign', { fingerprint: fp, ok: false, reason } satisfies SignEvent);
      return encodeFailure();
    } finally {
      client.gone.signal.removeEventListener('abort', onGone);
      this.inFlight.delete(ac);
    }
  }

  /** `ssh-add -c`: anything but an explicit yes from the user refuses the signature. */
  private async confirm(key: SkKey, ctx: OperationContext): Promise<void> {
    const ask = this.opts.prompter?.confirm?.bind(this.opts.prompter);
    if (!ask) throw new Error('the key needs confirmation (ssh-add -c) and there is no prompter to ask');
    const ok = await requestQueue.run(this.confirmLane, 'ssh-agent', ctx, (r) =>
      ask({
        requestId: r.id,
        keyComment: key.comment,
        keyFingerprint: fingerprint(key),
        purpose: ctx.purpose,
        signal: r.signal,
      }),
    );
    if (!ok) throw new Error('the user did not confirm the use of the key');
  }

  /** The prompt's purpose: what the data is, the bound host, and the client process. */
  private purposeFor(data: Buffer, key: SkKey | AgentKey, client: Client): Purpose {
    const purpose = signPurpose(data, isLocked(key) ? { comment: key.comment } : key);
    const parsed = parseSignedData(data);
    // ssh binds the connection to the server's host key (session-bind); the userauth request
    // being signed carries the same session id. Name that host for the prompt.
    const bound =
      parsed.kind === 'userauth'
        ? client.bindings.find((b) => b.sessionId.equals(parsed.sessionId))
        : undefined;
    const hostKey = bound?.hostKey ?? (parsed.kind === 'userauth' ? parsed.hostKey : undefined);
    if (hostKey)
      purpose.host =
        hostNameForKey(hostKey, this.opts.knownHostsFiles) ?? `host key ${hostKeyFingerprint(hostKey)}`;
    if (client.peer && client.peer.pid > 0)
      purpose.process = { pid: client.peer.pid, name: processName(client.peer.pid) };
    return purpose;
  }

  private extension(name: string, contents: Buffer, client: Client): Buffer {
    if (name === 'session-bind@openssh.com') {
      // string hostkey, string session id, string signature, bool forwarding (PROTOCOL.agent).
      const r = new SshReader(contents, 'session-bind request');
      const hostKey = Buffer.from(r.string('host key'));
      const sessionId = Buffer.from(r.string('session id'));
      const signature = r.string('signature');
      const forwarding = r.byte('is-forwarding') !== 0;
      r.end();
      // The server proves it holds the host key by signing the session id (ssh-agent.c).
      if (!verifyHostKeySignature(hostKey, sessionId, signature)) {
        this.log(
          'warn',
          `session-bind: the host key ${hostKeyFingerprint(hostKey)} did not sign the session id`,
        );
        return encodeFailure();
      }
      if (
        client.bindings.length >= MAX_BINDINGS ||
        client.bindings.some((b) => b.sessionId.equals(sessionId))
      ) {
        this.log('warn', 'session-bind: too many or repeated bindings on one connection');
        return encodeFailure();
      }
      client.bindings.push({ hostKey, sessionId, forwarding });
      this.log(
        'debug',
        `session-bind to ${hostKeyFingerprint(hostKey)} (${forwarding ? 'forwarded' : 'direct'})`,
      );
      return encodeSuccess();
    }
    this.log('debug', `unsupported extension ${name}`);
    return encodeFailure();
  }
}

function publicOf(k: SkKey | AgentKey): SkPublicKey {
  return isLocked(k) ? k.publicKey : k;
}

function commentOf(k: SkKey | AgentKey): string {
  return k.comment;
}

function lockHash(passphrase: Buffer): { salt: Buffer; hash: Buffer } {
  const salt = randomBytes(16);
  return { salt, hash: scryptSync(passphrase, salt, 32) };
}

function defaultPeerCredentials(sock: Socket): AgentPeer | null {
  // Loaded lazily: ffi-rs is native, and tests that inject credentials must not need it.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const nb = require('../../native-bindings') as typeof import('../../native-bindings');
  const c = nb.peerCredentials(sock);
  return { uid: c.uid, pid: c.pid };
}

/** The client's program name for the prompt (Linux /proc; elsewhere none). */
function processName(pid: number): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/comm`, 'utf8').trim() || undefined;
  } catch {
    return undefined;
  }
}

/** What the prompt says about a signature, from the data the client asks to sign. */
export function signPurpose(data: Buffer, key: { comment: string }): Purpose {
  const base = { requester: 'ssh-agent' as const, keyComment: key.comment || undefined };
  const parsed = parseSignedData(data);
  if (parsed.kind === 'userauth') return { ...base, what: 'ssh-login', user: parsed.user };
  if (parsed.kind === 'sshsig') return { ...base, what: 'sign-data', namespace: parsed.namespace };
  return { ...base, what: 'ssh-sign' };
}

/** Creates `dir` 0700 if missing; refuses one that is not ours alone (also used by the control socket). */
export function ensurePrivateDirectory(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const st = lstatSync(dir);
  const uid = process.getuid?.();
  if (!st.isDirectory() || (uid !== undefined && st.uid !== uid) || st.mode & 0o077) {
    throw new Error(
      `the agent socket directory ${dir} must be a private directory (mode 0700, owned by you); ` +
        `it is mode ${(st.mode & 0o777).toString(8)}, owner uid ${st.uid}`,
    );
  }
}

/** Removes a socket left by a dead agent; refuses to touch a live one or a non-socket file. */
export async function removeStaleSocket(path: string): Promise<void> {
  let st;
  try {
    st = lstatSync(path);
  } catch {
    return;
  }
  if (!st.isSocket()) throw new Error(`${path} exists and is not a socket; not removing it`);
  const live = await new Promise<boolean>((resolve) => {
    const c = createConnection(path);
    c.once('connect', () => {
      c.destroy();
      resolve(true);
    });
    c.once('error', () => resolve(false));
  });
  if (live) throw new Error(`another agent is already listening on ${path}`);
  unlinkSync(path);
}
