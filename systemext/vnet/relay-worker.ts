// The relay worker thread's entry: RelayCore (./relay-core) on this thread's event loop.
import { parentPort, workerData } from 'node:worker_threads';
import { framingFor, writeFramed } from '../tun/framing';
import { RelayCore, type PacketWriter } from './relay-core';
import type { FromRelay, RelayWorkerData, ToRelay } from './relay-protocol';

const data = workerData as RelayWorkerData;
const tun = data.tun;
const framing = tun ? framingFor(tun.framing) : null;
const write: PacketWriter | null = tun && framing ? (pkt) => writeFramed(tun.fd, framing, pkt) : null;
const core = new RelayCore(data, (m: FromRelay) => parentPort!.postMessage(m), write);
parentPort!.on('message', (m: ToRelay) => core.handle(m));
