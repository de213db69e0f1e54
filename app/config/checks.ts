// Checks across entries, once each entry has its own shape right: duplicate names, references to
// bastions, jump cycles, zones that overlap, apps outside every zone. Pure: file checks are in files.ts.
import type { RawApp, RawBastion, RawZone } from './schema';
import { closest } from './suggest';

export interface Issue {
  path: PropertyKey[];
  message: string;
}

/** An entry that passed its schema, with its index among the [[...]] tables of its kind. */
export interface Entry<T> {
  index: number;
  value: T;
}

export interface CheckInput {
  bastions: Entry<Partial<RawBastion>>[];
  zones: Entry<Partial<RawZone>>[];
  apps: Entry<Partial<RawApp>>[];
  /** Every bastion name written, even in a bastion that failed its own checks (so no false "unknown"). */
  bastionNames: string[];
}

export function crossChecks(input: CheckInput): Issue[] {
  return [
    ...duplicateBastions(input.bastions),
    ...bastionReferences(input),
    ...jumpCycles(input.bastions),
    ...overlappingZones(input.zones),
    ...appNames(input),
  ];
}

function duplicateBastions(bastions: Entry<Partial<RawBastion>>[]): Issue[] {
  const seen = new Map<string, number>();
  const issues: Issue[] = [];
  for (const { index, value } of bastions) {
    if (value.name === undefined) continue;
    const key = value.name.toLowerCase();
    if (key === 'direct')
      issues.push({
        path: ['bastion', index, 'name'],
        message: '"direct" is reserved (via = "direct" means no bastion): expected another name',
      });
    const first = seen.get(key);
    if (first === undefined) seen.set(key, index);
    else
      issues.push({
        path: ['bastion', index, 'name'],
        message: `duplicate bastion name "${value.name}" (also bastion[${first}]): expected each [[bastion]] to have its own name`,
      });
  }
  return issues;
}

function unknownBastion(name: string, known: string[]): string {
  const hint = closest(name, known);
  const list = known.length ? known.map((n) => `"${n}"`).join(', ') : 'none defined';
  return `bastion "${name}" does not exist${hint ? `; did you mean "${hint}"?` : ''} (bastions: ${list})`;
}

function bastionReferences({ bastions, zones, apps, bastionNames }: CheckInput): Issue[] {
  const issues: Issue[] = [];
  const check = (path: PropertyKey[], name: string | undefined): void => {
    if (name !== undefined && !bastionNames.includes(name))
      issues.push({ path, message: unknownBastion(name, bastionNames) });
  };
  for (const { index, value } of bastions) {
    check(['bastion', index, 'jump'], value.jump);
    if (value.host_keys !== undefined && value.known_hosts !== undefined)
      issues.push({
        path: ['bastion', index, 'known_hosts'],
        message:
          'both host_keys and known_hosts are set: expected one of them (host_keys wins in ssh, so drop one)',
      });
  }
  const via = (path: PropertyKey[], v: string | undefined): void => {
    if (v === undefined || v === 'direct') return;
    const hint = bastionNames.includes(v) ? `; to go through bastion "${v}", write bastion = "${v}"` : '';
    issues.push({ path, message: `"${v}" is not allowed: expected "direct" (no bastion)${hint}` });
  };
  for (const { index, value } of zones) {
    check(['zone', index, 'bastion'], value.bastion);
    via(['zone', index, 'via'], value.via);
    if (value.bastion === undefined && value.via === undefined)
      issues.push({
        path: ['zone', index],
        message: `zone${value.suffix ? ` "${value.suffix}"` : ''} says neither bastion = "<name>" nor via = "direct": expected one of them`,
      });
    else if (value.bastion !== undefined && value.via !== undefined)
      issues.push({
        path: ['zone', index, 'via'],
        message: 'both bastion and via are set: expected one of them (via = "direct" means no bastion)',
      });
  }
  for (const { index, value } of apps) {
    check(['app', index, 'bastion'], value.bastion);
    via(['app', index, 'via'], value.via);
    if (value.bastion !== undefined && value.via !== undefined)
      issues.push({
        path: ['app', index, 'via'],
        message: 'both bastion and via are set: expected one of them (via = "direct" means no bastion)',
      });
  }
  return issues;
}

/** A bastion reached through itself, directly or via others, could never connect. */
function jumpCycles(bastions: Entry<Partial<RawBastion>>[]): Issue[] {
  const byName = new Map(bastions.map((b) => [b.value.name, b]));
  const reported = new Set<string>();
  const issues: Issue[] = [];
  for (const start of bastions) {
    const chain: string[] = [];
    if (start.value.name === undefined) continue;
    let cur: Entry<Partial<RawBastion>> | undefined = start;
    while (cur?.value.name !== undefined && !chain.includes(cur.value.name)) {
      chain.push(cur.value.name);
      cur = cur.value.jump === undefined ? undefined : byName.get(cur.value.jump);
    }
    if (!cur || cur !== start) continue; // no cycle, or a cycle that does not include `start`
    const members = [...chain].sort().join('\0');
    if (reported.has(members)) continue;
    reported.add(members);
    issues.push({
      path: ['bastion', start.index, 'jump'],
      message: `jump cycle: ${[...chain, start.value.name].join(' -> ')}: expected a chain of jumps that ends at a bastion without jump`,
    });
  }
  return issues;
}

/** Two zones overlap when one suffix equals the other or ends with "." + the other. */
function overlaps(a: string, b: string): boolean {
  return a === b || a.endsWith(`.${b}`) || b.endsWith(`.${a}`);
}

function overlappingZones(all: Entry<Partial<RawZone>>[]): Issue[] {
  const issues: Issue[] = [];
  const zones = all.filter((z): z is Entry<RawZone> => z.value.suffix !== undefined);
  zones.forEach((z, k) => {
    const other = zones.slice(0, k).find((o) => overlaps(o.value.suffix, z.value.suffix));
    if (other)
      issues.push({
        path: ['zone', z.index, 'suffix'],
        message:
          other.value.suffix === z.value.suffix
            ? `zone "${z.value.suffix}" is already defined (zone[${other.index}]): expected each suffix once`
            : `zone "${z.value.suffix}" overlaps zone[${other.index}] "${other.value.suffix}": expected zones that do not contain one another (give an app its own bastion instead)`,
      });
  });
  return issues;
}

function appNames({ zones, apps }: CheckInput): Issue[] {
  const issues: Issue[] = [];
  const seen = new Map<string, number>();
  const suffixes = zones.flatMap((z) => (z.value.suffix === undefined ? [] : [z.value.suffix]));
  for (const { index, value } of apps) {
    const name = value.name;
    if (name === undefined) continue;
    const first = seen.get(name);
    if (first !== undefined)
      issues.push({
        path: ['app', index, 'name'],
        message: `duplicate app name "${name}" (also app[${first}]; names are case-insensitive): expected each app once`,
      });
    else seen.set(name, index);
    if (suffixes.length && !suffixes.some((s) => name.endsWith(`.${s}`)))
      issues.push({
        path: ['app', index, 'name'],
        message: `"${name}" is in no zone: expected a name ending in ${suffixes.map((s) => `".${s}"`).join(', ')}, or a [[zone]] for it`,
      });
    if (!suffixes.length)
      issues.push({
        path: ['app', index, 'name'],
        message: `"${name}" is in no zone: expected a [[zone]] whose suffix it ends with (none is defined)`,
      });
  }
  return issues;
}

/** The zone an app is in (there is at most one: zones do not overlap). */
export function zoneOf<Z extends { suffix: string }>(name: string, zones: Z[]): Z | undefined {
  return zones.find((z) => name.endsWith(`.${z.suffix}`));
}
