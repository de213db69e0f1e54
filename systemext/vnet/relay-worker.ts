// The relay worker thread's entry: RelayCore (./relay-core) on this thread's event loop.
import { parentPort, workerData } from 'node:worker_threads';
import { RelayCore } from './relay-core';
import type { FromRelay, RelayWorkerData, ToRelay } from './relay-protocol';

const core = new RelayCore(workerData as RelayWorkerData, (m: FromRelay) => parentPort!.postMessage(m));
parentPort!.on('message', (m: ToRelay) => core.handle(m));
