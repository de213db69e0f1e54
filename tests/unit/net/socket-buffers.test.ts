// Fixed buffers for the tun-side listeners: the setsockopt(2) layout on both platforms, and on
// Linux, for real, that a connection the listener accepts inherits them (ss -tm shows rb/tb).
import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { setSocketBuffers } from '../../../native-bindings';
import { socketBufferOptions } from '../../../native-bindings/socket-buffers';

describe('net: fixed socket buffers for the tun-side listeners', () => {
  it('Linux: SOL_SOCKET SO_RCVBUF (8) and SO_SNDBUF (7) with the size as an int', () => {
    const o = socketBufferOptions('linux', 512 * 1024);
    expect(o.map((x) => [x.level, x.name, x.value.readInt32LE(0), x.value.length])).to.deep.equal([
      [1, 8, 524288, 4],
      [1, 7, 524288, 4],
    ]);
  });

  it('macOS: SOL_SOCKET (0xffff) SO_RCVBUF (0x1002) and SO_SNDBUF (0x1001)', () => {
    const o = socketBufferOptions('darwin', 65536);
    expect(o.map((x) => [x.level, x.name, x.value.readInt32LE(0)])).to.deep.equal([
      [0xffff, 0x1002, 65536],
      [0xffff, 0x1001, 65536],
    ]);
  });

  it('refuses silly sizes and other platforms', () => {
    for (const bad of [0, 4095, 1.5, 2 ** 31, NaN])
      expect(() => socketBufferOptions('linux', bad)).to.throw(RangeError);
    expect(() => socketBufferOptions('win32', 65536)).to.throw(/not supported on win32/);
  });

  it('a connection accepted by a listener with fixed buffers has them (Linux doubles the value)', async function () {
    if (process.platform !== 'linux') this.skip(); // reason: reads the buffers with Linux's ss
    let srv: Server | null = null;
    let client: Socket | null = null;
    try {
      const accepted = new Promise<Socket>((resolve) => {
        srv = createServer((s) => resolve(s));
      });
      await new Promise<void>((r) => srv!.listen(0, '127.0.0.1', r));
      const fd = (srv! as unknown as { _handle: { fd: number } })._handle.fd;
      setSocketBuffers(fd, 256 * 1024);
      const port = (srv!.address() as { port: number }).port;
      client = connect(port, '127.0.0.1');
      const server = await accepted;
      const out = execFileSync('ss', ['-tmnH', 'state', 'established', 'sport', `= :${port}`]).toString();
      const rb = /rb(\d+)/.exec(out)?.[1];
      const tb = /tb(\d+)/.exec(out)?.[1];
      expect([rb, tb], out).to.deep.equal([String(512 * 1024), String(512 * 1024)]);
      server.destroy();
    } finally {
      client?.destroy();
      (srv as Server | null)?.close();
    }
  });
});
