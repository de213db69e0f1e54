// `--headless`: the agent without any GUI or Qt (Linux servers, CI, tests). Prints its status to
// the terminal; prompts, when needed, go through the terminal prompter.
import type { Purpose } from '../fido/api';
import { TerminalPrompter } from './prompts';

/** What --demo-prompts asks for: a bastion login requested by the daemon. */
const DEMO_PURPOSE: Purpose = {
  what: 'ssh-login',
  bastion: 'corp',
  host: 'bastion.corp.example.com',
  user: 'alice',
  requester: 'daemon',
};

export interface HeadlessOptions {
  version: string;
  demoPrompts: boolean;
}

export async function runHeadless(opts: HeadlessOptions): Promise<void> {
  if (opts.demoPrompts) {
    printStatus(opts);
    const prompter = new TerminalPrompter();
    const keyLabel = 'KeyVNet virtual key';
    const purpose = DEMO_PURPOSE;
    const signal = new AbortController().signal;
    const touch = { requestId: 1, keyLabel, purpose, signal, fingerprint: false };
    prompter.touchNeeded(touch);
    prompter.touchDone(touch);
    const pin = await prompter.askPin({ requestId: 1, keyLabel, purpose, signal, retriesLeft: 3 });
    // Never print the PIN itself.
    console.log(pin === null ? 'PIN: cancelled' : `PIN: ${[...pin].length} characters entered`);
    return;
  }
  // The agent's services (config, key, daemon socket) attach here; until then, idle until stopped.
  // Signal handlers go in before the status is printed: whoever waits for that line may stop us.
  const stopped = new Promise<void>((resolve) => {
    const keepAlive = setInterval(() => undefined, 1 << 30);
    const stop = (): void => {
      clearInterval(keepAlive);
      console.log('KeyVNet agent stopping');
      resolve();
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  printStatus(opts);
  await stopped;
}

function printStatus(opts: HeadlessOptions): void {
  console.log(`KeyVNet ${opts.version} agent (headless)`);
  console.log('VNet: not connected');
}
