// Pure logic for macOS /etc/resolver/<zone> files (resolver(5)): one file per VNet zone with our
// nameservers. Only files whose first line is our marker are ever changed or removed, and unchanged
// files are not rewritten (each rewrite makes macOS re-read DNS config, which can trigger Wi-Fi scans).

export const RESOLVER_MARKER = '# managed by KeyVNet: do not edit';

/** Content of /etc/resolver/<zone>: our marker, then one `nameserver` line per DNS address. */
export function resolverFileContent(zone: string, dnsAddresses: string[]): string {
  return [RESOLVER_MARKER, `# VNet zone ${zone}`, ...dnsAddresses.map((a) => `nameserver ${a}`), ''].join(
    '\n',
  );
}

export interface ResolverDirDiff {
  /** Files (zone names) to create or rewrite, with their content. */
  write: { name: string; content: string }[];
  /** Our files that are no longer wanted. */
  remove: string[];
  /** Files left alone: ours and already right, or not ours (never touched). */
  keep: string[];
}

/**
 * Compares the directory's files (name → content) with the wanted ones. A wanted zone whose file exists
 * but is not ours is kept untouched (the user's own resolver for that zone wins).
 */
export function diffResolverDir(existing: Map<string, string>, wanted: Map<string, string>): ResolverDirDiff {
  const diff: ResolverDirDiff = { write: [], remove: [], keep: [] };
  for (const [name, content] of [...wanted].sort(([a], [b]) => a.localeCompare(b))) {
    const cur = existing.get(name);
    if (cur === undefined || (isOursFile(cur) && cur !== content)) diff.write.push({ name, content });
    else diff.keep.push(name);
  }
  for (const [name, content] of [...existing].sort(([a], [b]) => a.localeCompare(b))) {
    if (wanted.has(name)) continue;
    if (isOursFile(content)) diff.remove.push(name);
    else diff.keep.push(name);
  }
  return diff;
}

/** Wanted files for a set of zones. Zone names are validated: they become file names. */
export function wantedResolverFiles(zones: string[], dnsAddresses: string[]): Map<string, string> {
  const out = new Map<string, string>();
  for (const z of zones) {
    const zone = z.replace(/\.$/, '').toLowerCase();
    if (!/^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/.test(zone)) {
      throw new Error(`zone ${JSON.stringify(z)} is not a valid DNS name`);
    }
    out.set(zone, resolverFileContent(zone, dnsAddresses));
  }
  return out;
}

export function isOursFile(content: string): boolean {
  return content.startsWith(RESOLVER_MARKER + '\n');
}
