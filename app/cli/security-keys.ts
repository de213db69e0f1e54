// The security key for `keyvnet key …` and `diag` when no agent runs (or with --no-agent): the command
// opens the key itself, with prompts on this terminal. With a running agent the operations go to it
// instead (agent-link.ts). KEYVNET_VIRTUAL_KEY=<state file> uses the project's virtual authenticator instead
// of node-hid: tests and the Linux demo only.
import { listSecurityKeys, openSecurityKey } from '../fido';
import type { UserPrompter } from '../fido/api';
import type { AnySecurityKey } from '../fido/open';
import { Ctap2SecurityKey } from '../fido/security-key';
import type { KeyAccess } from '../agent/key-operations';
import type { CliContext } from './context';

/** Every key that can be used now (the virtual one alone when KEYVNET_VIRTUAL_KEY is set), opened with `prompter`. */
export function localKeys(ctx: CliContext, prompter: UserPrompter): KeyAccess {
  const statePath = ctx.env.KEYVNET_VIRTUAL_KEY;
  let open: (path: string) => Promise<AnySecurityKey>;
  let list: KeyAccess['list'];
  if (statePath) {
    // Tests and the demo only: loaded lazily through the one door to the virtual key.
    // With require, not import(): bin/keyvnet hooks require only.
    /* eslint-disable @typescript-eslint/no-require-imports */
    const { VirtualAuthenticator } =
      require('../headless/virtual-key') as typeof import('../headless/virtual-key');
    /* eslint-enable @typescript-eslint/no-require-imports */
    const va = new VirtualAuthenticator({ statePath });
    list = async () => [{ path: `virtual:${statePath}`, product: va.label }];
    open = () => Ctap2SecurityKey.open(va.connect(), prompter, { label: va.label });
  } else {
    list = async () => (await listSecurityKeys()).map((d) => ({ path: d.path, product: d.product }));
    open = (path) => openSecurityKey(path, prompter);
  }
  return {
    list,
    use: async (key, fn) => {
      const k = await open(key.path);
      try {
        return await fn(k);
      } finally {
        await k.close().catch(() => undefined);
      }
    },
  };
}
