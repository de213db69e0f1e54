// Real peer credentials over a Unix socket in this process (Linux SO_PEERCRED through ffi-rs).
import { expect } from 'chai';
import { mkdtempSync, rmSync } from 'node:fs';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { peerCredentials, socketFd } from '../../../native-bindings';
import { requireOrSkip } from '../../helpers/privileges';

describe('native-bindings: peer credentials', function () {
  let dir: string;
  let server: Server;
  let client: Socket | undefined;

  before(function () {
    requireOrSkip(
      this,
      'peer credentials',
      process.platform === 'linux' || process.platform === 'darwin'
        ? null
        : `no peer-credential binding for ${process.platform}`,
    );
    dir = mkdtempSync(join(tmpdir(), 'kvn-peercred-'));
  });

  after(() => {
    client?.destroy();
    server?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('reports our own uid, gid and pid for a client in this process', async () => {
    const path = join(dir, 's.sock');
    const accepted = new Promise<Socket>((resolve) => {
      server = createServer(resolve);
    });
    await new Promise<void>((resolve) => server.listen(path, resolve));
    client = createConnection(path);
    const conn = await accepted;
    try {
      const creds = peerCredentials(conn);
      expect(creds).to.deep.equal({ uid: process.getuid!(), gid: process.getgid!(), pid: process.pid });
      expect(peerCredentials(socketFd(conn))).to.deep.equal(creds);
    } finally {
      conn.destroy();
    }
  });

  it('names the call and the errno when the fd is not a socket', () => {
    expect(() => peerCredentials(0x7ffffff0)).to.throw(/getsockopt\(SO_PEERCRED\).*\(EBADF\)/);
  });

  it('refuses a socket without an fd', () => {
    expect(() => socketFd({} as Socket)).to.throw(/no file descriptor/);
  });
});
