// One way to run async work one at a time, used everywhere order matters: CTAPHID transactions on
// a channel, requests per security key (request-queue.ts), prompts on screen.

/** Runs queued functions one after another; a failure does not stop the ones behind it. */
export class SerialChain {
  private tail: Promise<unknown> = Promise.resolve();

  run<T>(fn: () => Promise<T>): Promise<T> {
    const p = this.tail.then(fn, fn);
    this.tail = p.catch(() => undefined);
    return p;
  }
}
