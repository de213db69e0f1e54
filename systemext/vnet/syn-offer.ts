// Who writes a relayed flow's rewritten SYN into the tun: the relay worker as soon as its dial
// connects (one thread hop less per connection than posting 'dialed' and waiting for the main
// thread), unless the main thread has let go of the flow meanwhile. Pure: both threads load it.
//
// One Int32 per NAT entry, in shared memory:
//   main   offer(e, id)     before posting the dial: the worker may open entry e for flow id
//   worker take(e, id)      on connect: CAS id -> 0; won = the SYN is the worker's to write
//   main   withdraw(e, id)  when it drops the flow while dialing: CAS id -> 0; lost = the worker took it
// Exactly one of take() and withdraw() wins. The loser's consequences:
//   - worker won: main must treat the entry as having reached the kernel (it holds it for TIME_WAIT
//     instead of freeing it at once), so it moves DIALING -> OPEN itself before closing it;
//   - main won: the worker writes nothing and drops the upstream.
// Both move the entry's state with the same compare-and-swap DIALING -> OPEN (NatView.openIfDialing),
// and the worker writes the SYN only if its own swap succeeded: once main has closed the entry
// (CLOSING), a late SYN never reaches the kernel. claim() and letGo() are the two sides, two atomic
// steps each; tests run the steps in every interleaving (`between`: a seam for that, tests only).
import type { NatView } from './nat-view';

/** Main thread: entry `entry`'s SYN may be written by the worker that dials flow `id`. */
export function offer(offers: Int32Array, entry: number, id: number): void {
  Atomics.store(offers, entry, id | 0);
}

/** Worker: takes the offer; true = this thread opens the entry and writes the SYN. */
export function take(offers: Int32Array, entry: number, id: number): boolean {
  return Atomics.compareExchange(offers, entry, id | 0, 0) === (id | 0);
}

/** Main thread: takes the offer back; false = the worker took it first (the SYN is or will be written). */
export function withdraw(offers: Int32Array, entry: number, id: number): boolean {
  return Atomics.compareExchange(offers, entry, id | 0, 0) === (id | 0);
}

/**
 * Worker, on connect: true = the entry is OPEN by this call and the SYN is this thread's to write.
 * False: the main thread withdrew the offer or closed the entry (its 'abort' is on the way).
 */
export function claim(
  offers: Int32Array,
  nat: NatView,
  entry: number,
  id: number,
  between?: () => void,
): boolean {
  if (!take(offers, entry, id)) return false;
  between?.();
  return nat.openIfDialing(entry);
}

/**
 * Main thread, dropping an offered flow before its dial settled: afterwards the entry is DIALING
 * (nothing reached the kernel: free it) or OPEN (the worker's SYN did, or may: hold it).
 */
export function letGo(offers: Int32Array, nat: NatView, entry: number, id: number): void {
  if (withdraw(offers, entry, id)) return;
  nat.openIfDialing(entry);
}
