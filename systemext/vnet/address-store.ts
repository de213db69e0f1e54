// Loads and saves the address plan's state file (JSON). A corrupt file is kept aside under a
// new name, never silently overwritten, and a fresh plan starts.
import { readFileSync, renameSync, writeFileSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { AddressPlan, type AddressState } from './addresses';

export interface LoadedPlan {
  plan: AddressPlan;
  /** Set when the file existed but could not be used (and was moved aside). */
  warning?: string;
}

/** Opens the plan for `ipv4Range`, persisting every change to `path` (atomically, via rename). */
export function loadAddressPlan(path: string, ipv4Range?: string): LoadedPlan {
  let state: Partial<AddressState> = {};
  let warning: string | undefined;
  try {
    state = validate(JSON.parse(readFileSync(path, 'utf8')));
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (e.code !== 'ENOENT') {
      const aside = `${path}.corrupt-${Date.now()}`;
      try {
        renameSync(path, aside);
      } catch {
        // nothing to move aside
      }
      warning = `address state ${path} unusable (${e.message}); moved to ${aside}, starting fresh`;
    }
  }
  const range = ipv4Range ?? state.ipv4Range;
  // A different range invalidates the app assignments but keeps the IPv6 prefix.
  if (state.ipv4Range !== undefined && state.ipv4Range !== range) state = { ipv6Prefix: state.ipv6Prefix };
  const save = (s: AddressState): void => {
    mkdirSync(dirname(path), { recursive: true });
    const tmp = `${path}.tmp-${process.pid}`;
    writeFileSync(tmp, `${JSON.stringify(s, null, 2)}\n`, { mode: 0o644 });
    renameSync(tmp, path);
  };
  const plan = new AddressPlan({ ...state, ipv4Range: range }, save);
  save(plan.state()); // a new ULA prefix must be on disk before anyone uses it
  return { plan, warning };
}

function validate(x: unknown): Partial<AddressState> {
  if (typeof x !== 'object' || x === null) throw new Error('not a JSON object');
  const o = x as Record<string, unknown>;
  if (o.version !== 1) throw new Error(`unknown version ${String(o.version)}`);
  if (typeof o.ipv4Range !== 'string' || typeof o.ipv6Prefix !== 'string') throw new Error('missing ranges');
  const apps: Record<string, string> = {};
  if (typeof o.apps === 'object' && o.apps !== null) {
    for (const [k, v] of Object.entries(o.apps)) if (typeof v === 'string') apps[k] = v;
  }
  return { version: 1, ipv4Range: o.ipv4Range, ipv6Prefix: o.ipv6Prefix, apps };
}
