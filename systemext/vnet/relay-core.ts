// The relay worker's logic (./relay-worker wires it to its thread; tests drive it in process):
// it dials an app's upstream for the main thread, owns a listener on tun4/tun6 that the flow's SYN
// rewrite targets, and pipes the accepted connection to the upstream. No socket crosses threads:
// the main thread decides (app, port, limits, NAT entry), the worker moves the bytes, so bulk
// relay work never delays a SYN or a DNS query on the main thread.
//
// Per flow: dial -> on connect the worker rewrites the client's SYN and writes it into the tun itself
// when the main thread offered it (./syn-offer), else the main thread does on 'dialed' -> accepted
// (marked in shared memory, no message) -> both sockets closed -> 'closed'. An 'abort' at any point
// destroys what the flow holds and silences it: nothing more is posted for that id.
import { connect, createServer, type Server, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { ipToBytes } from '../net/addr';
import { createFastPath, REPLY, type FastPath } from './fast-path';
import { NatView } from './nat-view';
import type { FromRelay, RelayWorkerData, ToRelay } from './relay-protocol';
import { claim } from './syn-offer';

/** Writes one IP packet into the tun (from this thread); returns why it failed, or null. */
export type PacketWriter = (pkt: Buffer) => string | null;

/**
 * The upstream is read into buffers this large (Node's default is 64 KB): measured on loopback,
 * 256 KB reads cut the relay's CPU per GB of downloads by about a quarter (fewer read and write
 * calls). A read this size is handed on as is (a new buffer takes its place); a small one is copied
 * out, so chatty flows do not pin a large buffer per chunk. A flow starts with Node's 64 KB and moves
 * to 256 KB at its first full read: only bulk flows hold the large buffer (up to 65 536 flows
 * could otherwise hold 16 GiB of address space between them).
 */
const READ_SIZE = 256 * 1024;
const FIRST_READ_SIZE = 64 * 1024;
const COPY_BELOW = 16 * 1024;

interface RelayFlow {
  id: number;
  entry: number;
  family: 4 | 6;
  up: Socket;
  connected: boolean;
  client?: Duplex;
  aborted: boolean;
  timer?: NodeJS.Timeout;
  /** Upstream data read before the client's connection was accepted (reading pauses meanwhile). */
  early: Buffer[];
  /** Where upstream data goes once piped (counts it too). */
  sink?: (chunk: Buffer) => boolean;
}

export class RelayCore {
  private readonly nat: NatView;
  private readonly bytes: Float64Array;
  private readonly acceptedIds: Int32Array;
  private readonly offers: Int32Array;
  /** Rewrites a SYN this worker writes (the same fast path as the tun reader's). */
  private readonly fast: FastPath;
  /** SYN write failures (the client's retransmit goes through the reader's fast path instead). */
  synWriteErrors = 0;
  private readonly byId = new Map<number, RelayFlow>();
  /** Connected upstreams waiting for their accepted socket, by NAT entry. */
  private readonly awaiting = new Map<number, RelayFlow>();
  private readonly servers: Server[] = [];

  constructor(
    data: RelayWorkerData,
    private readonly post: (m: FromRelay) => void,
    /** Null: never take an offer (the main thread writes every SYN). */
    private readonly writePacket: PacketWriter | null = null,
  ) {
    this.nat = new NatView(data.nat);
    this.bytes = new Float64Array(data.bytes);
    this.acceptedIds = new Int32Array(data.accepted);
    this.offers = new Int32Array(data.offers);
    this.fast = createFastPath(data.nat);
  }

  /** Flows the worker holds (dialing, awaiting their connection, or piped). */
  get size(): number {
    return this.byId.size;
  }

  handle(m: ToRelay): void {
    try {
      if (m.t === 'listen') this.listen(m.host, m.family);
      else if (m.t === 'dial') this.dial(m.id, m.entry, m.family, m.host, m.port, m.timeoutMs, m.syn);
      else if (m.t === 'abort') this.abort(m.id);
    } catch (err) {
      // E.g. connect() refusing a bad port at once: that dial fails, the worker and its flows stay.
      const message = (err as Error).message;
      if (m.t === 'dial') {
        this.byId.delete(m.id);
        this.post({ t: 'dialed', id: m.id, error: message, code: 'ERROR' });
      } else if (m.t === 'listen') this.post({ t: 'listen-failed', family: m.family, message });
    }
  }

  private listen(host: string, family: 4 | 6): void {
    const srv = createServer({ allowHalfOpen: true, noDelay: true }, (sock) =>
      this.accepted(sock, sock.remoteAddress ?? '', sock.remotePort ?? 0),
    );
    srv.once('error', (err) => this.post({ t: 'listen-failed', family, message: err.message }));
    srv.listen({ host, port: 0, backlog: 1024 }, () => {
      srv.removeAllListeners('error');
      srv.on('error', () => {}); // accept errors (EMFILE...) are transient; the main thread's deadlines clean up
      this.servers.push(srv);
      const a = srv.address();
      const fd = (srv as unknown as { _handle?: { fd?: number } })._handle?.fd ?? -1;
      this.post({ t: 'listening', family, port: typeof a === 'object' && a ? a.port : 0, fd });
    });
  }

  private dial(
    id: number,
    entry: number,
    family: 4 | 6,
    host: string,
    port: number,
    timeoutMs: number,
    syn?: Uint8Array,
  ): void {
    let buf = Buffer.allocUnsafe(FIRST_READ_SIZE);
    const onread = (n: number, b: Buffer): boolean => {
      let chunk: Buffer;
      if (n >= COPY_BELOW) {
        chunk = b.subarray(0, n);
        buf = Buffer.allocUnsafe(n === b.length ? READ_SIZE : b.length); // a full read: bulk
      } else chunk = Buffer.from(b.subarray(0, n));
      if (f.sink) return f.sink(chunk);
      f.early.push(chunk); // the server spoke first: keep it for the client, read no more till then
      return false;
    };
    const up = connect({ host, port, onread: { buffer: () => buf, callback: onread } });
    const f: RelayFlow = { id, entry, family, up, connected: false, aborted: false, early: [] };
    this.byId.set(id, f);
    const fail = (message: string, code: string): void => {
      if (f.aborted || f.connected) return;
      clearTimeout(f.timer);
      this.byId.delete(id);
      up.destroy();
      this.post({ t: 'dialed', id, error: `connect to ${host}:${port}: ${message}`, code });
    };
    f.timer = setTimeout(() => fail('timed out', 'ETIMEDOUT'), timeoutMs);
    up.once('error', (err: NodeJS.ErrnoException) => fail(err.message, err.code ?? 'ERROR'));
    up.once('connect', () => {
      if (f.aborted) return;
      clearTimeout(f.timer);
      f.connected = true;
      up.setNoDelay(true);
      up.on('error', () => {}); // reported when the flow closes
      // A stale waiter on the same entry cannot exist: the main thread aborts a flow before its
      // entry is reused (entries are held for TIME_WAIT after close).
      this.awaiting.set(entry, f);
      let opened = false;
      if (syn && this.writePacket) {
        // Unless the main thread let go of the flow meanwhile (its 'abort' is on the way), open the
        // entry and send the SYN to our listener.
        if (!claim(this.offers, this.nat, entry, id)) return this.abort(id);
        opened = true;
        this.writeSyn(Buffer.from(syn.buffer, syn.byteOffset, syn.byteLength));
      }
      this.post(opened ? { t: 'dialed', id, opened } : { t: 'dialed', id });
    });
  }

  /** Rewrites the client's SYN (the entry is OPEN now) and writes it into the tun. */
  private writeSyn(syn: Buffer): void {
    // A failed rewrite (the entry changed under it) or write costs one SYN retransmit: the
    // client's next SYN takes the reader's fast path to the same listener.
    if (this.fast(syn) !== REPLY || this.writePacket!(syn) !== null) this.synWriteErrors++;
  }

  /** The main thread let go of the flow: drop whatever it holds, post nothing more for it. */
  abort(id: number): void {
    const f = this.byId.get(id);
    if (!f) return;
    f.aborted = true;
    clearTimeout(f.timer);
    this.byId.delete(id);
    if (this.awaiting.get(f.entry) === f) this.awaiting.delete(f.entry);
    f.up.destroy();
    f.client?.destroy();
  }

  /** A connection on our listener; its remote address:port is the fake source naming the entry. */
  accepted(sock: Duplex, remoteAddress: string, remotePort: number): void {
    let entry = -1;
    let family = 0;
    try {
      const addr = ipToBytes(remoteAddress.replace(/^::ffff:/, ''));
      family = addr.length === 4 ? 4 : 6;
      entry = this.nat.entryOfFakeAddress(addr, remotePort);
    } catch {
      entry = -1;
    }
    let f = entry >= 0 ? this.awaiting.get(entry) : undefined;
    if (f && f.family !== family) f = undefined; // the entry's fake source is of the other family
    if (!f) {
      sock.destroy(); // not one of ours, or its flow was aborted meanwhile
      return;
    }
    this.awaiting.delete(entry);
    f.client = sock;
    Atomics.store(this.acceptedIds, entry, f.id);
    this.pipe(f, sock);
  }

  private pipe(f: RelayFlow, sock: Duplex): void {
    const up = f.up;
    const counters = this.bytes;
    const iFrom = 2 * f.entry;
    const iTo = iFrom + 1;
    counters[iFrom] = 0;
    counters[iTo] = 0;
    let fromClient = 0;
    let toClient = 0;
    sock.on('data', (d: Buffer) => (counters[iFrom] = fromClient += d.length));
    // Upstream -> client by hand (the upstream reads into our buffers, see READ_SIZE), with
    // backpressure: a false return stops reading until the client's socket drains.
    f.sink = (chunk) => {
      counters[iTo] = toClient += chunk.length;
      if (sock.write(chunk)) return true;
      sock.once('drain', () => up.resume());
      return false;
    };
    up.on('end', () => sock.end());
    let failure: Error | undefined;
    sock.on('error', (err) => {
      failure ??= err;
      up.destroy();
    });
    up.on('error', (err) => {
      failure ??= err;
      resetClient(sock); // an upstream failure resets the client, like a real peer would
    });
    let closed = 0;
    const onClose = (): void => {
      if (++closed === 1) {
        // One side is fully gone: give the other a moment to flush, then make sure it goes.
        setTimeout(() => (sock.destroyed ? up.destroy() : sock.end()), 0).unref();
        return;
      }
      if (f.aborted) return;
      this.byId.delete(f.id);
      this.post({ t: 'closed', id: f.id, fromClient, toClient, error: failure?.message });
    };
    if (up.destroyed) {
      // The upstream went away between the dial and the accept.
      failure = new Error('the upstream closed before the connection was accepted');
      resetClient(sock);
      closed = 1;
    } else up.on('close', onClose);
    sock.on('close', onClose);
    sock.pipe(up);
    for (const chunk of f.early.splice(0)) f.sink(chunk);
    if (sock.writableNeedDrain) sock.once('drain', () => up.resume());
    else up.resume();
  }

  stop(): void {
    for (const id of [...this.byId.keys()]) this.abort(id);
    for (const s of this.servers) s.close();
  }
}

function resetClient(sock: Duplex): void {
  const s = sock as Partial<Socket>;
  if (typeof s.resetAndDestroy === 'function') s.resetAndDestroy();
  else sock.destroy();
}
