// TCP connections from the test process (host namespace) into a network namespace, without
// configuring anything in the host namespace: a small relay runs inside the namespace, listens on
// a Unix socket (file system paths cross namespaces) and, per connection, reads one line
// "host port\n", connects there from inside the namespace, answers "ok\n" and relays bytes.
// Run as a script it is the relay: `node --import tsx ns-connect.ts <socket path>`.
import { connect, createServer, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { existsSync } from 'node:fs';
import type { NetNs } from './netns';

/** Starts the relay in `ns`; resolves once its socket exists (hang guard: 20 s). */
export async function startNsRelay(ns: NetNs, socketPath: string): Promise<NsConnector> {
  const child = ns.spawnNode(__filename, [socketPath]);
  let err = '';
  child.stderr?.on('data', (d: Buffer) => (err += d.toString()));
  const deadline = Date.now() + 20_000;
  while (!existsSync(socketPath)) {
    if (child.exitCode !== null) throw new Error(`ns relay exited: ${err}`);
    if (Date.now() > deadline) throw new Error(`ns relay did not start: ${err}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return (host, port, signal) => connectVia(socketPath, host, port, signal);
}

/** Opens a TCP connection to host:port from inside the relay's namespace. */
export type NsConnector = (host: string, port: number, signal?: AbortSignal) => Promise<Duplex>;

/**
 * Connects through the relay at `socketPath`. The answer line is read in paused mode ('readable'),
 * never with a 'data' listener: removing one leaves the socket flowing, and whatever the far end
 * sent next (an SSH banner) would be emitted to nobody before our caller attached its own.
 */
export function connectVia(
  socketPath: string,
  host: string,
  port: number,
  signal?: AbortSignal,
): Promise<Duplex> {
  return new Promise((resolve, reject) => {
    const sock = connect(socketPath);
    let buf = '';
    const fail = (e: Error): void => {
      sock.destroy();
      reject(e);
    };
    const onAbort = (): void => fail(new Error('aborted'));
    signal?.addEventListener('abort', onAbort, { once: true });
    const onReadable = (): void => {
      let d: Buffer | null;
      while ((d = sock.read() as Buffer | null) !== null) {
        const s = buf + d.toString('latin1');
        const nl = s.indexOf('\n');
        if (nl < 0) {
          buf = s;
          continue;
        }
        sock.off('readable', onReadable);
        sock.off('error', fail);
        signal?.removeEventListener('abort', onAbort);
        const answer = s.slice(0, nl);
        if (answer !== 'ok') return fail(Object.assign(new Error(answer), { code: answer.split(' ')[0] }));
        const rest = Buffer.from(s.slice(nl + 1), 'latin1');
        if (rest.length) sock.unshift(rest);
        return resolve(sock); // not flowing: data waits in the socket until the caller reads it
      }
    };
    sock.on('readable', onReadable);
    sock.once('error', fail);
    sock.once('connect', () => sock.write(`${host} ${port}\n`));
  });
}

function relay(socketPath: string): void {
  const server = createServer((client: Socket) => {
    let buf = '';
    const onData = (d: Buffer): void => {
      buf += d.toString('latin1');
      const nl = buf.indexOf('\n');
      if (nl < 0) return;
      client.off('data', onData);
      client.pause();
      const [host, port] = buf.slice(0, nl).split(' ');
      const rest = Buffer.from(buf.slice(nl + 1), 'latin1');
      const up = connect({ host, port: Number(port) });
      up.setNoDelay(true);
      up.once('error', (e: NodeJS.ErrnoException) => {
        if (client.writable) client.end(`${e.code ?? 'ERROR'} ${e.message}\n`);
      });
      up.once('connect', () => {
        up.removeAllListeners('error');
        client.write('ok\n');
        if (rest.length) up.write(rest);
        client.pipe(up).on('error', () => client.destroy());
        up.pipe(client).on('error', () => up.destroy());
        client.on('error', () => up.destroy());
        up.on('error', () => client.destroy());
        client.on('close', () => up.destroy());
        up.on('close', () => client.destroy());
        client.resume();
      });
    };
    client.on('data', onData);
    client.on('error', () => undefined);
  });
  server.listen(socketPath);
}

if (require.main === module) relay(process.argv[2]);
