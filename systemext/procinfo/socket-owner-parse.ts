// The pure halves of the socket-owner lookups (socket-owner.ts): /proc/net/tcp{,6} lines (Linux)
// and `lsof -F pcn` output (macOS) to sockets with their two ends. No I/O: unit-tested with
// fixtures.
import { bytesToIp } from '../net/addr';
import type { Endpoint } from './socket-owner';

export interface ProcNetSocket {
  local: Endpoint;
  remote: Endpoint;
  /** The TCP state as the kernel numbers it (1 = ESTABLISHED). */
  state: number;
  inode: number;
}

/**
 * /proc/net/tcp or tcp6: "sl local rem st tx:rx tr:tm retrnsmt uid timeout inode ...". Addresses
 * are the raw network-order bytes printed as 32-bit words in host order (`littleEndian`: x86 and
 * arm64 Linux), ports plain hex. Lines that do not parse are skipped.
 */
export function parseProcNetTcp(text: string, littleEndian = true): ProcNetSocket[] {
  const out: ProcNetSocket[] = [];
  for (const line of text.split('\n')) {
    const f = line.trim().split(/\s+/);
    if (f.length < 10 || !/^\d+:$/.test(f[0])) continue;
    const local = hexEndpoint(f[1], littleEndian);
    const remote = hexEndpoint(f[2], littleEndian);
    const state = Number.parseInt(f[3], 16);
    const inode = Number(f[9]);
    if (!local || !remote || !Number.isInteger(inode) || Number.isNaN(state)) continue;
    out.push({ local, remote, state, inode });
  }
  return out;
}

function hexEndpoint(s: string, littleEndian: boolean): Endpoint | null {
  const m = /^([0-9A-Fa-f]{8}|[0-9A-Fa-f]{32}):([0-9A-Fa-f]{4})$/.exec(s);
  if (!m) return null;
  const raw = Buffer.from(m[1], 'hex');
  if (littleEndian) for (let i = 0; i < raw.length; i += 4) raw.subarray(i, i + 4).reverse();
  return { address: bytesToIp(raw, 0, raw.length as 4 | 16), port: Number.parseInt(m[2], 16) };
}

/** `socket:[12345]` (a /proc/PID/fd link) → 12345. */
export function socketInode(link: string): number | null {
  const m = /^socket:\[(\d+)\]$/.exec(link);
  return m ? Number(m[1]) : null;
}

export interface LsofSocket {
  pid: number;
  command: string;
  local: Endpoint;
  remote: Endpoint;
}

/**
 * `lsof -nP +c 0 -F pcn -iTCP@…` output: a `p<pid>` line, its `c<command>`, then per file `f<fd>`
 * and `n<local>-><remote>` ("10.0.0.5:52000->100.64.0.2:80", "[fd00::5]:52000->[fd00::2]:80").
 * Listening sockets (no "->") and lines it does not know are skipped.
 */
export function parseLsofTcp(output: string): LsofSocket[] {
  const out: LsofSocket[] = [];
  let pid = 0;
  let command = '';
  for (const line of output.split('\n')) {
    const tag = line.charAt(0);
    const value = line.slice(1);
    if (tag === 'p') {
      pid = Number(value);
      command = '';
    } else if (tag === 'c') command = value;
    else if (tag === 'n' && pid > 0) {
      const ends = value.split('->');
      if (ends.length !== 2) continue;
      const local = lsofEndpoint(ends[0]);
      const remote = lsofEndpoint(ends[1]);
      if (local && remote) out.push({ pid, command, local, remote });
    }
  }
  return out;
}

function lsofEndpoint(s: string): Endpoint | null {
  const m = /^\[([0-9A-Fa-f:.]+)\]:(\d+)$/.exec(s) ?? /^([0-9.]+):(\d+)$/.exec(s);
  if (!m) return null;
  const port = Number(m[2]);
  return port <= 65535 ? { address: m[1], port } : null;
}
