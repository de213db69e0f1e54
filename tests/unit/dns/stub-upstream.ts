// Test helper: a stub upstream DNS server on 127.0.0.1 (UDP and TCP on one port) whose answers
// the test scripts. Returning null means "stay silent".
import { createSocket, type Socket } from 'node:dgram';
import { createServer, type Server } from 'node:net';
import * as dnsPacket from 'dns-packet';

export type StubHandler = (q: dnsPacket.Packet, transport: 'udp' | 'tcp') => Partial<dnsPacket.Packet> | null;

export class StubUpstream {
  port = 0;
  queries = 0;
  private udp!: Socket;
  private tcp!: Server;

  constructor(public handler: StubHandler) {}

  async start(): Promise<this> {
    this.udp = createSocket('udp4');
    this.udp.on('message', (msg, rinfo) => {
      const out = this.answer(msg, 'udp');
      if (out) this.udp.send(out, rinfo.port, rinfo.address);
    });
    await new Promise<void>((r) => this.udp.bind(0, '127.0.0.1', r));
    this.port = this.udp.address().port;
    this.tcp = createServer((s) => {
      let buf = Buffer.alloc(0);
      s.on('error', () => {});
      s.on('data', (d: Buffer) => {
        buf = Buffer.concat([buf, d]);
        while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
          const q = buf.subarray(2, 2 + buf.readUInt16BE(0));
          buf = buf.subarray(2 + q.length);
          const out = this.answer(q, 'tcp');
          if (out) {
            const len = Buffer.alloc(2);
            len.writeUInt16BE(out.length);
            s.write(Buffer.concat([len, out]));
          }
        }
      });
    });
    await new Promise<void>((r) => this.tcp.listen(this.port, '127.0.0.1', r));
    return this;
  }

  private answer(msg: Buffer, transport: 'udp' | 'tcp'): Buffer | null {
    this.queries++;
    const q = dnsPacket.decode(msg);
    const a = this.handler(q, transport);
    if (!a) return null;
    return dnsPacket.encode({ type: 'response', id: q.id, flags: 0, questions: q.questions, ...a });
  }

  async stop(): Promise<void> {
    this.udp?.close();
    await new Promise<void>((r) => (this.tcp ? this.tcp.close(() => r()) : r()));
  }
}
