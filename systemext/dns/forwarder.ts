// Forwards queries the VNet does not answer to the system's upstream resolvers: sent to all at
// once, the first real answer wins (SERVFAIL/REFUSED only count if nobody does better), with a
// deadline. A truncated UDP answer is retried over TCP when the client needs the full answer.
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { connect } from 'node:net';
import { randomInt } from 'node:crypto';
import { isIPv6 } from 'node:net';
import type { Upstream } from './system-config-parse';

export interface Forwarder {
  /** The upstream's answer (with the query's ID), or null on timeout / no upstream. */
  forward(query: Buffer, wantFull: boolean): Promise<Buffer | null>;
}

export class UpstreamForwarder implements Forwarder {
  constructor(
    private readonly upstreams: () => Upstream[] | Promise<Upstream[]>,
    private readonly timeoutMs = 5000,
  ) {}

  async forward(query: Buffer, wantFull: boolean): Promise<Buffer | null> {
    if (query.length < 12) return null;
    const ups = await this.upstreams();
    if (ups.length === 0) return null;
    const clientId = query.readUInt16BE(0);
    const id = randomInt(0, 0x10000);
    const q = Buffer.from(query);
    q.writeUInt16BE(id, 0);
    const deadline = Date.now() + this.timeoutMs;
    const answer = await new Promise<Buffer | null>((resolve) => {
      const sockets = new Map<'udp4' | 'udp6', UdpSocket>();
      let fallback: Buffer | null = null;
      let errors = 0;
      let done = false;
      let tcpRunning = false;
      const finish = (b: Buffer | null): void => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        for (const s of sockets.values()) s.close();
        resolve(b);
      };
      const timer = setTimeout(() => finish(fallback), this.timeoutMs);
      const onMessage = (msg: Buffer, rinfo: { address: string; port: number }): void => {
        if (done || tcpRunning) return;
        const up = ups.find((u) => u.port === rinfo.port && sameHost(u.host, rinfo.address));
        if (!up || msg.length < 12 || msg.readUInt16BE(0) !== id || !(msg[2] & 0x80)) return;
        const rcode = msg[3] & 0x0f;
        if (rcode === 2 || rcode === 5) {
          fallback ??= msg;
          if (++errors === ups.length) finish(fallback);
          return;
        }
        const truncated = (msg[2] & 0x02) !== 0;
        if (truncated && wantFull) {
          tcpRunning = true; // later UDP answers are ignored while TCP runs
          void tcpQuery(up, q, Math.max(1, deadline - Date.now())).then((full) => finish(full ?? msg));
          return;
        }
        finish(msg);
      };
      for (const up of ups) {
        const fam = isIPv6(up.host) ? 'udp6' : 'udp4';
        let s = sockets.get(fam);
        if (!s) {
          s = createSocket(fam);
          s.on('message', onMessage);
          s.on('error', () => {}); // e.g. no IPv6 route: the other upstreams still count
          sockets.set(fam, s);
        }
        s.send(q, up.port, up.host, (err) => {
          if (err && ++errors === ups.length) finish(fallback);
        });
      }
    });
    if (!answer) return null;
    const out = Buffer.from(answer);
    out.writeUInt16BE(clientId, 0);
    return out;
  }
}

/** Whether an answer's source address is the upstream's, an IPv4 one possibly seen as `::ffff:a.b.c.d`. */
export function sameHost(a: string, b: string): boolean {
  return a === b || a.replace(/^::ffff:/, '') === b.replace(/^::ffff:/, '');
}

/** One DNS query over TCP (RFC 7766: 2-byte length prefix). */
export function tcpQuery(up: Upstream, q: Buffer, timeoutMs: number): Promise<Buffer | null> {
  return new Promise((resolve) => {
    const sock = connect({ host: up.host, port: up.port });
    let buf: Buffer = Buffer.alloc(0);
    const finish = (b: Buffer | null): void => {
      clearTimeout(timer);
      sock.destroy();
      resolve(b);
    };
    const timer = setTimeout(() => finish(null), timeoutMs);
    sock.on('error', () => finish(null));
    sock.on('connect', () => {
      const len = Buffer.alloc(2);
      len.writeUInt16BE(q.length);
      sock.write(Buffer.concat([len, q]));
    });
    sock.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      if (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0))
        finish(buf.subarray(2, 2 + buf.readUInt16BE(0)));
    });
    sock.on('end', () => finish(null));
  });
}
