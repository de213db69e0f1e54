// A minimal ssh-agent client (one request at a time), for tests, the benchmark and diagnostics.
import { createConnection, type Socket } from 'node:net';
import {
  AgentFrameDecoder,
  encodeRequestIdentities,
  encodeSignRequest,
  frame,
  parseIdentitiesAnswer,
  parseSignResponse,
} from './agent-protocol';

export class AgentClient {
  private readonly decoder = new AgentFrameDecoder();
  private readonly waiting: { resolve: (b: Buffer) => void; reject: (e: Error) => void }[] = [];
  private closedError: Error | null = null;

  private constructor(private readonly sock: Socket) {
    sock.on('data', (chunk) => {
      try {
        for (const body of this.decoder.push(chunk)) this.waiting.shift()?.resolve(body);
      } catch (err) {
        this.fail(err as Error);
      }
    });
    sock.on('error', (err) => this.fail(err));
    sock.on('close', () => this.fail(new Error('agent closed the connection')));
  }

  static connect(path: string): Promise<AgentClient> {
    return new Promise((resolve, reject) => {
      const sock = createConnection(path);
      sock.once('connect', () => {
        sock.off('error', reject);
        resolve(new AgentClient(sock));
      });
      sock.once('error', reject);
    });
  }

  private fail(err: Error): void {
    this.closedError ??= err;
    for (const w of this.waiting.splice(0)) w.reject(err);
  }

  /** Sends one message body and resolves with the answer's body. */
  request(body: Buffer, timeoutMs = 60_000): Promise<Buffer> {
    if (this.closedError) return Promise.reject(this.closedError);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('agent did not answer in time')), timeoutMs);
      this.waiting.push({
        resolve: (b) => {
          clearTimeout(timer);
          resolve(b);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      });
      this.sock.write(frame(body));
    });
  }

  async identities(): Promise<{ keyBlob: Buffer; comment: string }[]> {
    return parseIdentitiesAnswer(await this.request(encodeRequestIdentities()));
  }

  /** The SSH signature, or null if the agent answered FAILURE. */
  async sign(keyBlob: Buffer, data: Buffer, flags = 0): Promise<Buffer | null> {
    return parseSignResponse(await this.request(encodeSignRequest(keyBlob, data, flags)));
  }

  close(): void {
    this.sock.destroy();
  }
}
