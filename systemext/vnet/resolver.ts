// Which names are apps, and how to reach them. The daemon asks the user agent (over IPC, later);
// tests and the demo use StaticResolver. CachingResolver sits in front of either.
import { normalizeName } from './addresses';

export type PortRange = number | [number, number];

export interface AppInfo {
  /** Lower-case FQDN without trailing dot. */
  fqdn: string;
  /** Ports (or inclusive [from, to] ranges) the app accepts; empty = all. */
  allowedPorts: PortRange[];
  /** How to reach it: a host and an optional fixed port (else the port the client used). */
  target: { host: string; port?: number };
  /** Bastion name, or 'direct'. */
  via: string;
}

export interface AppResolver {
  /** DNS zones (suffixes) whose names may be apps, e.g. ['corp.example.com']. */
  zones(): string[];
  /** The app behind a name, or null when the name is no app. */
  resolve(fqdn: string): Promise<AppInfo | null>;
}

export function portAllowed(app: AppInfo, port: number): boolean {
  if (app.allowedPorts.length === 0) return true;
  return app.allowedPorts.some((p) => (typeof p === 'number' ? p === port : port >= p[0] && port <= p[1]));
}

/** True when `fqdn` is one of the zones or below one. */
export function inZones(fqdn: string, zones: readonly string[]): boolean {
  const name = normalizeName(fqdn);
  return zones.some((z) => {
    const zone = normalizeName(z);
    return name === zone || name.endsWith(`.${zone}`);
  });
}

/** A fixed table of apps. */
export class StaticResolver implements AppResolver {
  private readonly apps = new Map<string, AppInfo>();

  constructor(
    private readonly zoneList: string[],
    apps: Array<Omit<AppInfo, 'allowedPorts' | 'via'> & Partial<Pick<AppInfo, 'allowedPorts' | 'via'>>>,
  ) {
    for (const a of apps) {
      const fqdn = normalizeName(a.fqdn);
      this.apps.set(fqdn, {
        fqdn,
        allowedPorts: a.allowedPorts ?? [],
        target: a.target,
        via: a.via ?? 'direct',
      });
    }
  }

  zones(): string[] {
    return this.zoneList;
  }

  async resolve(fqdn: string): Promise<AppInfo | null> {
    return this.apps.get(normalizeName(fqdn)) ?? null;
  }
}

/** A lookup that did not answer within its deadline. */
export class ResolveTimeoutError extends Error {
  readonly code = 'resolve-timeout';
  constructor(fqdn: string, ms: number) {
    super(`app lookup of ${fqdn} did not answer within ${ms} ms`);
    this.name = 'ResolveTimeoutError';
  }
}

/**
 * Caches answers (apps and non-apps) for `ttlMs` and coalesces concurrent lookups of one name,
 * so a burst of DNS queries and SYNs makes one request to the agent. Failures are not cached. A
 * lookup that takes longer than `timeoutMs` fails with ResolveTimeoutError (and is not cached
 * when it answers later), so a hanging agent holds no query or flow for ever.
 */
export class CachingResolver implements AppResolver {
  private readonly cache = new Map<string, { at: number; app: AppInfo | null }>();
  private readonly pending = new Map<string, Promise<AppInfo | null>>();
  /** Bumped by clear(): answers to lookups started before it are not cached. */
  private generation = 0;

  constructor(
    private readonly inner: AppResolver,
    private readonly ttlMs = 5000,
    private readonly now: () => number = Date.now,
    private readonly timeoutMs = 10_000,
  ) {}

  zones(): string[] {
    return this.inner.zones();
  }

  resolve(fqdn: string): Promise<AppInfo | null> {
    const name = normalizeName(fqdn);
    const hit = this.cache.get(name);
    if (hit && this.now() - hit.at < this.ttlMs) return Promise.resolve(hit.app);
    const p = this.pending.get(name);
    if (p) return p;
    const gen = this.generation;
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new ResolveTimeoutError(name, this.timeoutMs)), this.timeoutMs);
      timer.unref();
    });
    const lookup = this.inner.resolve(name).then((app) => {
      if (gen === this.generation) {
        this.cache.set(name, { at: this.now(), app });
        if (this.cache.size > 10000) this.cache.delete(this.cache.keys().next().value as string);
      }
      return app;
    });
    const q = Promise.race([lookup, deadline]).finally(() => {
      clearTimeout(timer);
      if (this.pending.get(name) === q) this.pending.delete(name);
    });
    this.pending.set(name, q);
    return q;
  }

  /** Forgets everything (e.g. when the agent's configuration changed); lookups under way are not cached. */
  clear(): void {
    this.cache.clear();
    this.pending.clear();
    this.generation++;
  }
}
