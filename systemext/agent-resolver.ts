// Which names are apps, asked of the user's agent: the daemon holds no user configuration. The
// engine puts a short cache in front (CachingResolver), so a burst of DNS queries and SYNs for one
// name makes one request. Without an agent, or when it does not answer in time, a lookup fails
// (DNS SERVFAIL, TCP RST): never a wait without a deadline.
import { normalizeName } from './vnet/addresses';
import { inZones, type AppInfo, type AppResolver } from './vnet/resolver';
import type { RpcPeer } from '../ipc/rpc';

export const RESOLVE_TIMEOUT_MS = 3000;

export class AgentResolver implements AppResolver {
  constructor(
    private readonly agent: () => RpcPeer | null,
    private readonly zoneList: () => string[],
    private readonly timeoutMs = RESOLVE_TIMEOUT_MS,
  ) {}

  zones(): string[] {
    return this.zoneList();
  }

  async resolve(fqdn: string): Promise<AppInfo | null> {
    const name = normalizeName(fqdn);
    if (!inZones(name, this.zones())) return null;
    const agent = this.agent();
    if (!agent) throw new Error('no KeyVNet agent is connected');
    const { app } = await agent.request('app/resolve', { fqdn: name }, { timeoutMs: this.timeoutMs });
    if (!app) return null;
    // The answer must be about the name asked, whatever the agent says.
    if (normalizeName(app.fqdn) !== name)
      throw new Error(`the agent answered for ${app.fqdn} when asked about ${name}`);
    return { fqdn: name, target: app.target, allowedPorts: app.allowedPorts, via: app.via };
  }
}
