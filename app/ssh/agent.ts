// The ssh-agent: serves the user's sk keys on a private Unix socket so their own `ssh` and `git`
// sign with the security key, with touch/PIN prompts from the agent app (UserPrompter).
// Each client's requests are answered in order; clients run concurrently; signatures are serialized
// per security key by the signing core. Nothing a client sends can crash the agent: bad frames close
// that client with a logged reason.
import { EventEmitter } from 'node:events';
import { chmodSync, lstatSync, mkdirSync, unlinkSync } from 'node:fs';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { dirname } from 'node:path';
import type { Purpose, SecurityKey } from '../fido/api';
import {
  AgentFrameDecoder,
  encodeFailure,
  encodeIdentitiesAnswer,
  encodeSignResponse,
  encodeSuccess,
  frame,
  parseAgentRequest,
  type AgentRequest,
} from './agent-protocol';
import { encodePublicKeyBlob, fingerprint, type SkKey } from './keys';
import { parseSignedData } from './signed-data';
import { describeSignError, signWithSkKey } from './signer';
import { SshReader } from './wire';

/** A client (ssh asks one thing at a time) with this many unanswered requests is misbehaving. */
const MAX_QUEUED_REQUESTS = 64;

export type AgentLogLevel = 'debug' | 'info' | 'warn' | 'error';

export interface SshAgentOptions {
  /** The keys to offer, read at every request (so enrolling or removing a key needs no restart). */
  keys: () => SkKey[];
  /**
   * The security key to sign with; rejects (e.g. "no security key plugged in") when there is none.
   * Return the same object while the key stays plugged in: signatures are serialized per object.
   */
  securityKey: () => Promise<SecurityKey>;
  /** Default: warnings and errors to stderr. */
  log?: (level: AgentLogLevel, message: string) => void;
  /** Hang guard for one sign request, touch and PIN included (default 120 s). */
  requestTimeoutMs?: number;
  /** A client that stops in the middle of a frame is dropped after this (default 30 s). */
  partialFrameTimeoutMs?: number;
}

export interface SignEvent {
  fingerprint: string;
  ok: boolean;
  /** Human reason when !ok, e.g. "touch was denied on the security key". */
  reason?: string;
}

/**
 * Events: 'sign' (SignEvent) after every sign request, 'log' (level, message) for every log line.
 */
export class SshAgent extends EventEmitter {
  private server: Server | null = null;
  private readonly clients = new Set<Socket>();
  private readonly inFlight = new Set<AbortController>();
  private readonly opts: Required<SshAgentOptions>;
  private socketPath = '';

  constructor(opts: SshAgentOptions) {
    super();
    this.opts = {
      log: (level, message) => {
        if (level === 'warn' || level === 'error') console.error(`ssh-agent: ${message}`);
      },
      requestTimeoutMs: 120_000,
      partialFrameTimeoutMs: 30_000,
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

  async close(): Promise<void> {
    const server = this.server;
    this.server = null;
    for (const ac of this.inFlight) ac.abort(new Error('the agent is stopping'));
    for (const c of this.clients) c.destroy();
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
    try {
      unlinkSync(this.socketPath);
    } catch {
      /* already gone */
    }
  }

  private serve(sock: Socket): void {
    this.clients.add(sock);
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
          const answer = await this.handle(body);
          queued--;
          if (!sock.destroyed) sock.write(frame(answer));
        });
      }
    });
    sock.on('end', () => {
      if (decoder.pending > 0)
        this.log('warn', `client closed in the middle of a frame (${decoder.pending} bytes)`);
      // Half-closed by the client: answer what it already asked, then close our side.
      void queue.then(() => sock.end());
    });
    sock.on('error', (err) => this.log('debug', `client socket error: ${err.message}`));
    sock.on('close', () => {
      if (partialTimer) clearTimeout(partialTimer);
      this.clients.delete(sock);
    });
  }

  /** Answers one message body; never throws. */
  private async handle(body: Buffer): Promise<Buffer> {
    let req: AgentRequest;
    try {
      req = parseAgentRequest(body);
    } catch (err) {
      this.log('warn', `malformed request: ${(err as Error).message}`);
      return encodeFailure();
    }
    try {
      switch (req.kind) {
        case 'request-identities':
          return encodeIdentitiesAnswer(
            this.opts.keys().map((k) => ({ keyBlob: encodePublicKeyBlob(k), comment: k.comment })),
          );
        case 'sign':
          return await this.sign(req.keyBlob, req.data);
        case 'extension':
          return this.extension(req.name, req.contents);
        default:
          this.log('debug', `unsupported request type ${req.type}`);
          return encodeFailure();
      }
    } catch (err) {
      this.log('error', `request failed: ${(err as Error).message}`);
      return encodeFailure();
    }
  }

  private async sign(keyBlob: Buffer, data: Buffer): Promise<Buffer> {
    const key = this.opts.keys().find((k) => encodePublicKeyBlob(k).equals(keyBlob));
    if (!key) {
      this.log('debug', 'sign request for a key this agent does not hold');
      return encodeFailure();
    }
    const fp = fingerprint(key);
    const ac = new AbortController();
    this.inFlight.add(ac);
    try {
      const sk = await this.opts.securityKey();
      const purpose = signPurpose(data, key);
      // The timeout runs from when the request reaches the key (RequestQueue), not from now.
      const sig = await signWithSkKey(sk, key, data, {
        purpose,
        signal: ac.signal,
        timeoutMs: this.opts.requestTimeoutMs,
      });
      this.log('info', `signed with ${fp} (${purpose.what})`);
      this.emit('sign', { fingerprint: fp, ok: true } satisfies SignEvent);
      return encodeSignResponse(sig);
    } catch (err) {
      const reason = ac.signal.aborted ? (ac.signal.reason as Error).message : describeSignError(err);
      this.log('warn', `signing with ${fp} failed: ${reason}`);
      this.emit('sign', { fingerprint: fp, ok: false, reason } satisfies SignEvent);
      return encodeFailure();
    } finally {
      this.inFlight.delete(ac);
    }
  }

  private extension(name: string, contents: Buffer): Buffer {
    if (name === 'session-bind@openssh.com') {
      // string hostkey, string session id, string signature, bool forwarding (PROTOCOL.agent).
      // ssh(1) 9.x sends it on every connection and only logs a FAILURE at debug level; we accept
      // it after a structural check but keep no destination constraints, so it changes nothing.
      const r = new SshReader(contents, 'session-bind request');
      r.string('host key');
      r.string('session id');
      r.string('signature');
      const forwarding = r.byte('is-forwarding');
      r.end();
      this.log('debug', `session-bind (${forwarding ? 'forwarded' : 'direct'})`);
      return encodeSuccess();
    }
    this.log('debug', `unsupported extension ${name}`);
    return encodeFailure();
  }
}

/** What the prompt says about a signature, from the data the client asks to sign. */
export function signPurpose(data: Buffer, key: SkKey): Purpose {
  const base = { requester: 'ssh-agent' as const, keyComment: key.comment || undefined };
  const parsed = parseSignedData(data);
  if (parsed.kind === 'userauth') return { ...base, what: 'ssh-login', user: parsed.user };
  if (parsed.kind === 'sshsig') return { ...base, what: 'sign-data', namespace: parsed.namespace };
  return { ...base, what: 'ssh-sign' };
}

function ensurePrivateDirectory(dir: string): void {
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
async function removeStaleSocket(path: string): Promise<void> {
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
