// The user's config file for the command: which path, load it with exit code 4 on problems.
import { ConfigError, formatProblem, type ConfigProblem } from '../config/error';
import { loadConfig } from '../config/load';
import { defaultConfigPath } from '../config/paths';
import type { UserConfig } from '../config/types';
import type { CliContext, GlobalOptions } from './context';
import { CliError, Exit } from './exit-codes';

/** `--config`, else $KEYVNET_CONFIG, else the platform default. */
export function configPathOf(ctx: CliContext, g: GlobalOptions): string {
  return g.config ?? ctx.env.KEYVNET_CONFIG ?? defaultConfigPath(ctx.platform, ctx.env);
}

export type ConfigCheck = { ok: true; config: UserConfig } | { ok: false; problems: ConfigProblem[] };

export function checkConfig(path: string): ConfigCheck {
  try {
    return { ok: true, config: loadConfig(path) };
  } catch (err) {
    if (err instanceof ConfigError) return { ok: false, problems: err.problems };
    throw err;
  }
}

/** Loads the config or ends the command with exit code 4 and every problem listed. */
export function loadConfigOrExit(path: string): UserConfig {
  const r = checkConfig(path);
  if (r.ok) return r.config;
  throw new CliError(`${path} is not valid`, Exit.ConfigInvalid, r.problems.map(formatProblem));
}

/** What a new config file starts as (`config edit` on a missing file). */
export const CONFIG_TEMPLATE = `# KeyVNet configuration (README: "Configuration"). Check it with \`keyvnet config check\`.
[vnet]
range = "100.64.0.0/10"

# [[bastion]]
# name = "corp"
# host = "bastion.corp.example.com"
# user = "alice"
# key = "~/.ssh/id_ecdsa_sk"

# [[zone]]
# suffix = "corp.example.com"
# bastion = "corp"

# [[app]]
# name = "grafana.corp.example.com"
# target = "grafana.internal:3000"
# ports = [80, 443]
`;
