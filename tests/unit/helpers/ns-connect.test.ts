// The namespace relay's client side (tests/helpers/ns-connect.ts), against a stand-in relay on a
// Unix socket: bytes the far end sends right after "ok" must wait for a reader that comes late.
// (A 'data' listener used for the answer line left the socket flowing: an SSH banner sent in its
// own segment went to nobody, and the SSH tests hung or saw a broken header now and then.)
import { expect } from 'chai';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connectVia } from '../../helpers/ns-connect';

describe('test helper: connectVia (the namespace relay client)', () => {
  let dir: string;
  let server: Server;
  let path: string;
  let serve: (c: Socket) => void;

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'kvn-nsc-'));
    path = join(dir, 'relay.sock');
    server = createServer((c) => serve(c));
    server.listen(path);
    await once(server, 'listening');
  });
  afterEach(() => {
    server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('keeps what arrives after "ok" (same segment, and a later one) for a reader attached later', async () => {
    serve = (c) =>
      c.once('data', () => {
        c.write('ok\nSSH-2.0-x');
        setTimeout(() => c.write('y\r\n'), 20); // its own segment, before the reader attaches
      });
    const sock = await connectVia(path, '10.0.0.1', 22);
    await new Promise((r) => setTimeout(r, 100));
    let got = '';
    sock.on('data', (d: Buffer) => (got += d.toString()));
    for (let i = 0; i < 100 && got.length < 12; i++) await new Promise((r) => setTimeout(r, 5));
    expect(got).to.equal('SSH-2.0-xy\r\n');
    sock.destroy();
  });

  it('an error answer rejects with its code', async () => {
    serve = (c) => c.once('data', () => c.end('ECONNREFUSED connect ECONNREFUSED 10.0.0.1:22\n'));
    const err = (await connectVia(path, '10.0.0.1', 22).catch((e: unknown) => e)) as Error & { code: string };
    expect(err.code).to.equal('ECONNREFUSED');
  });
});
