// A connected pair of Unix-domain sockets (a server on a temp path and a client), for IPC tests.
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export async function socketPair(): Promise<{ a: Socket; b: Socket; cleanup: () => void }> {
  const dir = mkdtempSync(join(tmpdir(), 'kvn-ipc-'));
  const path = join(dir, 's.sock');
  const server = createServer();
  const accepted = new Promise<Socket>((resolve) => server.once('connection', resolve));
  await new Promise<void>((resolve) => server.listen(path, resolve));
  const b = connect(path);
  const a = await accepted;
  await new Promise<void>((resolve) => (b.connecting ? b.once('connect', () => resolve()) : resolve()));
  server.close();
  return {
    a,
    b,
    cleanup: () => {
      a.destroy();
      b.destroy();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
