// The real agent behind the menu: AgentCore (app/agent/agent.ts) made with the UI's prompter, the
// way `--headless` makes it with the terminal's. app/main.ts passes this to runGui:
//   runGui(guiOpts, agentCoreConnector({ version, configPath, daemonSocketPath, sshAgentSocket,
//                                        virtualKey, wantUp }))
import { AgentCore, stderrAgentLog } from '../agent/agent';
import { agentKeyAccess } from '../agent/agent-keys';
import { securityKeySource, type VirtualKeySwitch } from '../agent/key-source';
import { WatchedPrompter } from '../agent/prompt-watch';
import type { AgentControl } from './agent-control';
import type { ConnectAgent } from './gui-app';

export interface GuiAgentOptions {
  version: string;
  configPath: string;
  daemonSocketPath: string;
  sshAgentSocket: string | null;
  /** The control socket for `keyvnet key …` (its prompts then appear in this UI), or null/absent for none. */
  controlSocket?: string | null;
  /** Test/demo only: the virtual authenticator's state file and touch policy. */
  virtualKey: VirtualKeySwitch | null;
  wantUp: boolean;
}

export function agentCoreConnector(opts: GuiAgentOptions): ConnectAgent {
  return ({ prompter: uiPrompter }) => {
    const prompter = new WatchedPrompter(uiPrompter);
    const securityKey = securityKeySource(opts.virtualKey, prompter);
    const agent = new AgentCore({
      configPath: opts.configPath,
      daemonSocketPath: opts.daemonSocketPath,
      version: opts.version,
      prompter,
      securityKey,
      sshAgentSocket: opts.sshAgentSocket,
      wantUp: opts.wantUp,
      control: opts.controlSocket
        ? {
            socketPath: opts.controlSocket,
            keys: agentKeyAccess(opts.virtualKey, securityKey, prompter),
            prompts: prompter,
          }
        : null,
    });
    agent.on('log', stderrAgentLog);
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
