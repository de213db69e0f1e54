// Opening the security key for `keyvnet key …` (the agent has no control socket for the command yet,
// so the command talks to the key itself, with prompts on the terminal). KEYVNET_VIRTUAL_KEY=<state
// file> uses the project's virtual authenticator instead: tests and the Linux demo only.
import { listSecurityKeys, openSecurityKey } from '../fido';
import type { UserPrompter } from '../fido/api';
import type { HidDeviceInfo } from '../fido/hid/report-device';
import type { AnySecurityKey } from '../fido/open';
import { Ctap2SecurityKey } from '../fido/security-key';
import type { CliContext } from './context';
import { CliError, Exit } from './exit-codes';

export interface PluggedKey {
  info: HidDeviceInfo;
  open(prompter: UserPrompter): Promise<AnySecurityKey>;
}

/** Every key that can be used now (the virtual one alone when KEYVNET_VIRTUAL_KEY is set). */
export async function pluggedKeys(ctx: CliContext): Promise<PluggedKey[]> {
  const statePath = ctx.env.KEYVNET_VIRTUAL_KEY;
  if (statePath) {
    // Tests and the demo only: loaded lazily through the one door to the virtual key.
    // With require, not import(): bin/keyvnet hooks require only.
    /* eslint-disable @typescript-eslint/no-require-imports */
    const { VirtualAuthenticator } =
      require('../headless/virtual-key') as typeof import('../headless/virtual-key');
    /* eslint-enable @typescript-eslint/no-require-imports */
    const va = new VirtualAuthenticator({ statePath });
    const info: HidDeviceInfo = {
      path: `virtual:${statePath}`,
      vendorId: 0,
      productId: 0,
      product: va.label,
      manufacturer: 'KeyVNet',
    };
    return [{ info, open: (p) => Ctap2SecurityKey.open(va.connect(), p, { label: va.label }) }];
  }
  const devices = await listSecurityKeys();
  return devices.map((info) => ({ info, open: (p) => openSecurityKey(info.path, p) }));
}

/** The key to use: `--device PATH`, else the only (or first) plugged-in key; exit 6 when none. */
export async function chooseKey(ctx: CliContext, device: string | undefined): Promise<PluggedKey> {
  const keys = await pluggedKeys(ctx);
  if (keys.length === 0) {
    throw new CliError('no security key is plugged in', Exit.NoSecurityKey, [
      'Plug in your FIDO2 key and try again.',
    ]);
  }
  if (device !== undefined) {
    const k = keys.find((x) => x.info.path === device);
    if (!k) throw new CliError(`no security key at ${device} (see keyvnet key list)`, Exit.NoSecurityKey);
    return k;
  }
  if (keys.length > 1)
    ctx.err(`note: ${keys.length} keys plugged in; using ${keys[0].info.product} (--device to choose)\n`);
  return keys[0];
}
