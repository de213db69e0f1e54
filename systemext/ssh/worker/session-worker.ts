// A session worker: one ssh2 Client (BastionSession) in its own thread, so its framing and crypto
// stay off the thread that serves SYNs and DNS. Signatures are asked of the dialer's thread (which
// asks the agent); channels are bridged back as PortStreams.
import { parentPort, workerData } from 'node:worker_threads';
import type { Duplex } from 'node:stream';
import { abortError, sshError } from '../errors';
import { BastionSession } from '../session';
import { connectTcp } from '../tcp-connect';
import type { AgentBridge } from '../types';
import { PortStream } from './port-stream';
import { unwire, wire, type FromWorker, type ToWorker, type WorkerInit } from './protocol';

const port = parentPort!;
const init = workerData as WorkerInit;
const post = (m: FromWorker): void => port.postMessage(m);
const setup = new AbortController();
const signs = new Map<number, { resolve: (b: Buffer) => void; reject: (e: Error) => void }>();
const opens = new Map<number, AbortController>();
let session: BastionSession | null = null;
let nextSign = 0;

const bridge: AgentBridge = {
  bastion: async () => init.spec,
  sign: (req, signal) =>
    new Promise<Buffer>((resolve, reject) => {
      const id = nextSign++;
      signs.set(id, { resolve, reject });
      signal.addEventListener(
        'abort',
        () => {
          signs.delete(id);
          reject(abortError(signal, 'signing'));
        },
        { once: true },
      );
      post({ t: 'sign', id, data: req.data });
    }),
};

port.on('message', (m: ToWorker) => {
  switch (m.t) {
    case 'signResult': {
      const p = signs.get(m.id);
      signs.delete(m.id);
      if (m.sig) p?.resolve(Buffer.from(m.sig));
      else p?.reject(unwire(m.err ?? { message: 'no signature' }));
      break;
    }
    case 'abort':
      setup.abort(unwire(m.err));
      break;
    case 'open':
      void open(m);
      break;
    case 'cancelOpen':
      opens.get(m.id)?.abort();
      break;
    case 'close':
      if (session) session.close();
      else setup.abort(sshError('CANCELLED', 'closed'));
      break;
  }
});

async function main(): Promise<void> {
  try {
    const sock: Duplex = init.sock
      ? new PortStream(init.sock)
      : await connectTcp(init.tcp!.host, init.tcp!.port, setup.signal);
    session = await BastionSession.open({
      spec: init.spec,
      bridge,
      signal: setup.signal,
      sock,
      log: (level, msg) => post({ t: 'log', level, msg }),
    });
    session.once('close', () => {
      post({ t: 'closed' });
      port.close();
    });
    post({ t: 'ready' });
  } catch (err) {
    post({ t: 'failed', err: wire(err) });
    port.close();
  }
}

async function open(m: Extract<ToWorker, { t: 'open' }>): Promise<void> {
  const ac = new AbortController();
  opens.set(m.id, ac);
  try {
    if (!session) throw sshError('UNREACHABLE', 'no session');
    const ch = await session.openChannel(m.host, m.port, m.timeoutMs, ac.signal);
    const ps = new PortStream(m.data);
    ch.pipe(ps);
    ps.pipe(ch);
    ch.once('close', () => ps.destroy());
    ps.once('close', () => ch.destroy());
    ch.on('error', () => ps.destroy());
    ps.on('error', () => ch.destroy());
    post({ t: 'opened', id: m.id });
  } catch (err) {
    m.data.close();
    post({ t: 'openFailed', id: m.id, err: wire(err) });
  } finally {
    opens.delete(m.id);
  }
}

void main();
