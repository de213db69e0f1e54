// The real agent behind the menu: AgentCore (app/agent/agent.ts) made with the UI's prompter, the
// way `--headless` makes it with the terminal's. app/main.ts passes this to runGui:
//   runGui(guiOpts, agentCoreConnector({ version, configPath, daemonSocketPath, sshAgentSocket,
//                                        virtualKey, wantUp }))
import { AgentCore, stderrAgentLog } from '../agent/agent';
import { securityKeySource, type VirtualKeySwitch } from '../agent/key-source';
import type { AgentControl } from './agent-control';
import type { ConnectAgent } from './gui-app';

export interface GuiAgentOptions {
  version: string;
  configPath: string;
  daemonSocketPath: string;
  sshAgentSocket: string | null;
  /** Test/demo only: the virtual authenticator's state file and touch policy. */
  virtualKey: VirtualKeySwitch | null;
  wantUp: boolean;
}

export function agentCoreConnector(opts: GuiAgentOptions): ConnectAgent {
  return ({ prompter }) => {
    const securityKey = securityKeySource(opts.virtualKey, prompter);
    const agent = new AgentCore({
      configPath: opts.configPath,
      daemonSocketPath: opts.daemonSocketPath,
      version: opts.version,
      prompter,
      securityKey,
      sshAgentSocket: opts.sshAgentSocket,
      wantUp: opts.wantUp,
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
