// An in-process SSH server (ssh2's Server on loopback) standing in for a bastion in the dialer's
// unit tests: the test decides, per direct-tcpip request, to echo, refuse, hold, or drop the whole
// session, which forces the interleavings a real sshd only produces by chance.
import { Server, utils, type Connection, type ServerChannel, type TcpipRequestInfo } from 'ssh2';
import type { AddressInfo } from 'node:net';

export type TcpipHandler = (
  req: { accept: () => ServerChannel; reject: () => void; info: TcpipRequestInfo },
  conn: Connection,
) => void;

/** Echoes every byte back and ends when the client ends. */
export const echo: TcpipHandler = ({ accept }) => {
  const ch = accept();
  ch.pipe(ch);
};

export class TestBastion {
  readonly hostKeyLine: string;
  /** Server-side connections that authenticated, in order. */
  readonly sessions: Connection[] = [];
  /** Per-request behaviour; tests replace it. */
  onTcpip: TcpipHandler = echo;
  private readonly server: Server;
  private readonly all = new Set<Connection>();

  private constructor() {
    // ssh2's ed25519 generator now and then makes a key its own parser rejects (~1 in 200).
    let priv = '';
    let key: ReturnType<typeof utils.parseKey> = new Error('no key');
    for (let i = 0; i < 20 && key instanceof Error; i++) {
      priv = utils.generateKeyPairSync('ed25519').private;
      key = utils.parseKey(priv);
    }
    if (key instanceof Error) throw key;
    this.hostKeyLine = `${key.type} ${key.getPublicSSH().toString('base64')}`;
    this.server = new Server({ hostKeys: [priv] }, (conn) => {
      this.all.add(conn);
      conn.on('close', () => this.all.delete(conn));
      conn.on('error', () => undefined);
      conn.on('authentication', (ctx) => {
        // Any sk key, signed or not (the signature itself is checked by sshd in integration tests).
        if (ctx.method === 'publickey' && ctx.key.algo.startsWith('sk-')) return ctx.accept();
        ctx.reject(['publickey']);
      });
      conn.on('ready', () => {
        this.sessions.push(conn);
        conn.on('tcpip', (accept, reject, info) => this.onTcpip({ accept, reject, info }, conn));
      });
    });
  }

  static async start(): Promise<TestBastion> {
    const b = new TestBastion();
    await new Promise<void>((resolve) => b.server.listen(0, '127.0.0.1', resolve));
    return b;
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  /** Connections open now (authenticated or not). */
  get open(): number {
    return this.all.size;
  }

  async close(): Promise<void> {
    for (const c of this.all) c.end();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
