// The real agent behind the menu: AgentCore (app/agent/agent.ts) made with the UI's prompter, the
// way `--headless` makes it with the terminal's. app/main.ts passes this to runGui:
//   runGui(guiOpts, agentCoreConnector({ version, configPath, daemonSocketPath, sshAgentSocket,
//                                        virtualKey, wantUp }))
import { AgentCore } from '../agent/agent';
import type { SecurityKey } from '../fido/api';
import type { VirtualKeyOptions } from '../headless/virtual-key';
import type { AgentControl } from './agent-control';
import type { ConnectAgent } from './gui-app';

export interface GuiAgentOptions {
  version: string;
  configPath: string;
  daemonSocketPath: string;
  sshAgentSocket: string | null;
  /** Test/demo only: the virtual authenticator's state file and touch policy. */
  virtualKey: VirtualKeyOptions | null;
  wantUp: boolean;
}

export function agentCoreConnector(opts: GuiAgentOptions): ConnectAgent {
  return ({ prompter }) => {
    let securityKey: () => Promise<SecurityKey>;
    /* eslint-disable @typescript-eslint/no-require-imports */
    if (opts.virtualKey) {
      const { parseTouchPolicy, virtualKey } =
        require('../headless/virtual-key') as typeof import('../headless/virtual-key');
      securityKey = virtualKey(opts.virtualKey.statePath, prompter, {
        pin: opts.virtualKey.pin,
        touch: parseTouchPolicy(opts.virtualKey.touch),
        control: opts.virtualKey.control,
      }).securityKey;
    } else {
      const { pluggedInKey } = require('../agent/key-source') as typeof import('../agent/key-source');
      securityKey = pluggedInKey(prompter);
    }
    /* eslint-enable @typescript-eslint/no-require-imports */
    const agent = new AgentCore({
      configPath: opts.configPath,
      daemonSocketPath: opts.daemonSocketPath,
      version: opts.version,
      prompter,
      securityKey,
      sshAgentSocket: opts.sshAgentSocket,
      wantUp: opts.wantUp,
    });
    agent.on('log', (level, msg) =>
      process.stderr.write(`${new Date().toISOString()} ${level.toUpperCase().padEnd(5)} ${msg}\n`),
    );
    // After the UI subscribed (runGui does so right after this returns): the first state reaches it.
    setImmediate(() => {
      agent.start().catch((err: unknown) => {
        process.stderr.write(`keyvnet: the agent could not start: ${(err as Error).message}\n`);
        agent.emit('state', {
          ...agent.snapshot(),
          daemon: 'unavailable',
          daemonError: `the agent could not start: ${(err as Error).message}`,
        });
      });
    });
    const control: AgentControl = agent;
    return control;
  };
}
