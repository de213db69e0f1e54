// The system's upstream DNS servers, minus anything that would loop back to the VNet DNS server.
import { excludeSelf, type Upstream } from './system-config-parse';
import { readSystemUpstreams as darwin } from './upstreams.darwin';
import { readSystemUpstreams as linux } from './upstreams.linux';

export async function systemUpstreams(ownAddrs: string[]): Promise<Upstream[]> {
  const all = process.platform === 'darwin' ? await darwin() : await linux();
  return excludeSelf(all, ownAddrs);
}
