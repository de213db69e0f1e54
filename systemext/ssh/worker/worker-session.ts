// The dialer's side of a session whose ssh2 Client runs in a worker thread (session-worker.ts):
// the same SessionHandle as BastionSession, with signatures asked of the agent from this thread
// and each channel a PortStream over its own MessagePort.
import { EventEmitter } from 'node:events';
import { extname, join } from 'node:path';
import type { Duplex } from 'node:stream';
import { MessageChannel, Worker, type MessagePort } from 'node:worker_threads';
import { abortError, sshError } from '../errors';
import { describe, type SessionHandle } from '../session';
import type { AgentBridge, BastionSpec, SshLog } from '../types';
import { PortStream } from './port-stream';
import { unwire, wire, type FromWorker, type ToWorker, type WorkerInit } from './protocol';

export interface WorkerSessionArgs {
  spec: BastionSpec;
  bridge: AgentBridge;
  signal: AbortSignal;
  /** TCP to the bastion made by the worker itself, or a stream of this thread bridged to it. */
  transport: { tcp: { host: string; port: number } } | { sock: Duplex };
  onSign?: () => void;
  log?: SshLog;
}

interface PendingOpen {
  target: string;
  resolve: (d: Duplex) => void;
  reject: (e: Error) => void;
  data: MessagePort;
}

export class WorkerSession extends EventEmitter implements SessionHandle {
  channels = 0;
  private ended = false;
  private nextOpen = 0;
  private readonly opens = new Map<number, PendingOpen>();

  private constructor(
    readonly spec: BastionSpec,
    private readonly worker: Worker,
  ) {
    super();
    this.setMaxListeners(0);
  }

  get where(): string {
    return describe(this.spec);
  }

  get closed(): boolean {
    return this.ended;
  }

  static open(args: WorkerSessionArgs): Promise<WorkerSession> {
    const { spec, bridge, signal } = args;
    const log = args.log ?? (() => undefined);
    return new Promise<WorkerSession>((resolve, reject) => {
      if (signal.aborted) return reject(abortError(signal, `connecting to ${describe(spec)}`));
      const init: WorkerInit = { spec };
      const transfer: MessagePort[] = [];
      if ('tcp' in args.transport) {
        init.tcp = args.transport.tcp;
      } else {
        const { port1, port2 } = new MessageChannel();
        bridgeStream(args.transport.sock, new PortStream(port1));
        init.sock = port2;
        transfer.push(port2);
      }
      const worker = new Worker(workerEntry(), {
        workerData: init,
        transferList: transfer,
        ...workerLoader(),
      });
      const s = new WorkerSession(spec, worker);
      let settled = false;
      const settle = (err: Error | null): void => {
        if (settled) return;
        settled = true;
        signal.removeEventListener('abort', onAbort);
        if (err) {
          void worker.terminate();
          reject(err);
        } else {
          resolve(s);
        }
      };
      const onAbort = (): void => settle(abortError(signal, `connecting to ${describe(spec)}`));
      signal.addEventListener('abort', onAbort, { once: true });
      const purpose = { bastion: spec.name, host: spec.host, user: spec.user };
      worker.on('message', (m: FromWorker) => {
        switch (m.t) {
          case 'sign':
            args.onSign?.();
            bridge.sign({ publicKey: spec.publicKey, data: Buffer.from(m.data), purpose }, signal).then(
              (sig) => s.post({ t: 'signResult', id: m.id, sig }),
              (err: unknown) => s.post({ t: 'signResult', id: m.id, err: wire(err) }),
            );
            break;
          case 'ready':
            settle(null);
            break;
          case 'failed':
            settle(unwire(m.err));
            break;
          case 'opened':
          case 'openFailed':
            s.onOpenAnswer(m);
            break;
          case 'closed':
            s.markClosed();
            break;
          case 'log':
            log(m.level, m.msg);
            break;
        }
      });
      worker.once('error', (err) => {
        log('error', `${describe(spec)}: session worker failed: ${err.message}`);
        settle(sshError('UNREACHABLE', `${describe(spec)}: session worker failed: ${err.message}`));
        s.markClosed();
      });
      worker.once('exit', () => {
        settle(sshError('UNREACHABLE', `${describe(spec)}: session worker exited during set-up`));
        s.markClosed();
      });
    });
  }

  private post(m: ToWorker, transfer: MessagePort[] = []): void {
    if (!this.ended) this.worker.postMessage(m, transfer);
  }

  openChannel(host: string, port: number, timeoutMs: number, signal: AbortSignal): Promise<Duplex> {
    const target = `${host}:${port} through ${this.where}`;
    if (this.ended)
      return Promise.reject(sshError('UNREACHABLE', `the SSH session to ${this.where} has ended`));
    if (signal.aborted) return Promise.reject(abortError(signal, `opening ${target}`));
    const id = this.nextOpen++;
    const { port1, port2 } = new MessageChannel();
    this.channels++;
    return new Promise<Duplex>((resolve, reject) => {
      const onAbort = (): void => {
        if (!this.opens.delete(id)) return;
        this.post({ t: 'cancelOpen', id }); // the worker closes the channel if it still comes
        port1.close();
        this.release();
        reject(abortError(signal, `opening ${target}`));
      };
      signal.addEventListener('abort', onAbort, { once: true });
      this.opens.set(id, {
        resolve: (d) => {
          signal.removeEventListener('abort', onAbort);
          resolve(d);
        },
        reject: (e) => {
          signal.removeEventListener('abort', onAbort);
          port1.close();
          this.release();
          reject(e);
        },
        data: port1,
        target: `${host}:${port}`,
      });
      this.post({ t: 'open', id, host, port, timeoutMs, data: port2 }, [port2]);
    });
  }

  private onOpenAnswer(m: Extract<FromWorker, { t: 'opened' | 'openFailed' }>): void {
    const p = this.opens.get(m.id);
    if (!p) return;
    this.opens.delete(m.id);
    if (m.t === 'openFailed') return p.reject(unwire(m.err));
    const ps = new PortStream(p.data);
    ps.once('close', () => this.release());
    p.resolve(ps);
  }

  private release(): void {
    this.channels--;
    this.emit('channel-closed');
  }

  private markClosed(): void {
    if (this.ended) return;
    this.ended = true;
    for (const [id, p] of this.opens) {
      this.opens.delete(id);
      p.reject(sshError('UNREACHABLE', `the SSH session to ${this.where} ended while opening ${p.target}`));
    }
    void this.worker.terminate();
    this.emit('close');
  }

  close(): void {
    this.post({ t: 'close' });
    setTimeout(() => this.markClosed(), 3000).unref();
  }
}

/** Copies both ways between a stream of this thread and a PortStream to the worker. */
function bridgeStream(a: Duplex, b: Duplex): void {
  a.pipe(b);
  b.pipe(a);
  a.once('close', () => b.destroy());
  b.once('close', () => a.destroy());
  a.on('error', () => b.destroy());
  b.on('error', () => a.destroy());
}

function workerEntry(): string {
  return join(__dirname, `session-worker${extname(__filename) || '.js'}`);
}

/**
 * Under tsx, a worker's entry must be loaded with tsx's CommonJS hook (`--import tsx` does not
 * apply to workers on Node 20); the same as systemext/tun/worker-tun.ts does.
 */
function workerLoader(): { execArgv?: string[] } {
  if (extname(__filename) !== '.ts') return {};
  const argv = process.execArgv;
  const kept: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    if (/^(--import|--loader|--require|-r)$/.test(argv[i]) && /tsx/.test(argv[i + 1] ?? '')) i++;
    else if (!/^--(import|loader|require)=.*tsx/.test(argv[i])) kept.push(argv[i]);
  }
  return { execArgv: [...kept, '--require', require.resolve('tsx/cjs')] };
}
