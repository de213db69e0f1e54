// Loads config.toml: TOML syntax (smol-toml, line and column), then each table against its schema
// (zod), then checks across tables and of the files named. Every problem found is reported at once,
// each as `file:line: field: what is wrong and what is expected`.
import { readFileSync } from 'node:fs';
import { homedir, userInfo } from 'node:os';
import { dirname } from 'node:path';
import { parse, TomlError } from 'smol-toml';
import type { z } from 'zod';
import { crossChecks, zoneOf, type Entry, type Issue } from './checks';
import { ConfigError, fieldName, type ConfigProblem } from './error';
import { keyFileProblem, knownHostsFileProblem } from './files';
import { LineLocator } from './locate';
import { describeIssue } from './messages';
import { expandPath } from './paths';
import { rootSchema, SECTIONS, vnetSchema, type RawApp, type RawBastion, type RawZone } from './schema';
import type { UserConfig } from './types';

export interface LoadOptions {
  /** For `~` in paths (default: the user's home directory). */
  home?: string;
  /** Default bastion user, as ssh(1) does (default: the local user name). */
  username?: string;
  /** Check that key and known_hosts files exist and are keys (default true). */
  checkFiles?: boolean;
}

export const DEFAULT_KNOWN_HOSTS = '~/.ssh/known_hosts';

/** Reads and checks the config file; throws ConfigError listing every problem. */
export function loadConfig(path: string, opts: LoadOptions = {}): UserConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : (err as Error).message;
    throw new ConfigError([{ file: path, line: 0, field: '', message: `cannot read the config: ${why}` }]);
  }
  return parseConfig(text, path, opts);
}

/** Checks config text; `path` names it in messages, and relative paths in it are taken from its dir. */
export function parseConfig(text: string, path: string, opts: LoadOptions = {}): UserConfig {
  let doc: Record<string, unknown>;
  try {
    doc = parse(text);
  } catch (err) {
    if (!(err instanceof TomlError)) throw err;
    const what = err.message.split('\n')[0].replace(/^Invalid TOML document: /, '');
    throw new ConfigError([
      { file: path, line: err.line, column: err.column, field: '', message: `TOML syntax error: ${what}` },
    ]);
  }

  const issues: Issue[] = [];
  const root = rootSchema.safeParse(doc);
  if (!root.success) for (const i of root.error.issues) issues.push(...describeIssue(i, [], doc));
  const section = (name: 'bastion' | 'zone' | 'app'): unknown[] => {
    const v = doc[name];
    return Array.isArray(v) ? v : [];
  };
  // Full entries build the result; partial ones (every field that is valid on its own) feed the
  // checks across entries, so a bad field in one table does not hide a duplicate or a cycle elsewhere.
  const entries = <T>(
    name: 'bastion' | 'zone' | 'app',
  ): { full: Entry<T>[]; partial: Entry<Partial<T>>[] } => {
    const full: Entry<T>[] = [];
    const partial: Entry<Partial<T>>[] = [];
    section(name).forEach((raw, index) => {
      if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return; // reported above
      const schema = SECTIONS[name];
      const r = schema.safeParse(raw);
      if (r.success) {
        full.push({ index, value: r.data as T });
        partial.push({ index, value: r.data as T });
        return;
      }
      for (const i of r.error.issues) issues.push(...describeIssue(i, [name, index], raw));
      const fields: Record<string, unknown> = {};
      for (const [field, fieldSchema] of Object.entries(schema.shape)) {
        const f = (fieldSchema as z.ZodType).safeParse((raw as Record<string, unknown>)[field]);
        if (f.success && f.data !== undefined) fields[field] = f.data;
      }
      partial.push({ index, value: fields as Partial<T> });
    });
    return { full, partial };
  };

  const rawVnet =
    typeof doc.vnet === 'object' && doc.vnet !== null && !Array.isArray(doc.vnet) ? doc.vnet : {};
  const vnet = vnetSchema.safeParse(rawVnet);
  if (!vnet.success) for (const i of vnet.error.issues) issues.push(...describeIssue(i, ['vnet'], rawVnet));
  const bastionEntries = entries<RawBastion>('bastion');
  const zoneEntries = entries<RawZone>('zone');
  const appEntries = entries<RawApp>('app');
  const bastions = bastionEntries.full;
  const zones = zoneEntries.full;
  const apps = appEntries.full;
  const bastionNames = section('bastion')
    .map((b) => (b as Record<string, unknown> | null)?.name)
    .filter((n): n is string => typeof n === 'string');
  issues.push(
    ...crossChecks({
      bastions: bastionEntries.partial,
      zones: zoneEntries.partial,
      apps: appEntries.partial,
      bastionNames,
    }),
  );

  const home = opts.home ?? homedir();
  const baseDir = dirname(path);
  const expand = (p: string): string => expandPath(p, home, baseDir);
  if (opts.checkFiles !== false) {
    for (const { index, value } of bastionEntries.partial) {
      const keyProblem = value.key === undefined ? null : keyFileProblem(expand(value.key));
      if (keyProblem) issues.push({ path: ['bastion', index, 'key'], message: keyProblem });
      const kh = value.known_hosts === undefined ? null : knownHostsFileProblem(expand(value.known_hosts));
      if (kh) issues.push({ path: ['bastion', index, 'known_hosts'], message: kh });
    }
  }

  if (issues.length) throw new ConfigError(toProblems(issues, text, path));
  if (!vnet.success) throw new Error('unreachable: vnet issues are in `issues`');

  const username = opts.username ?? userInfo().username;
  const zoneList = zones.map(({ value: z }) => ({ suffix: z.suffix, via: z.bastion ?? 'direct' }));
  return {
    path,
    vnet: { range: vnet.data.range, ipv6: vnet.data.ipv6, mtu: vnet.data.mtu ?? null },
    bastions: bastions.map(({ value: b }) => ({
      name: b.name,
      host: b.host,
      port: b.port,
      user: b.user ?? username,
      keyPath: expand(b.key),
      hostKeys: b.host_keys ?? null,
      knownHostsPath: expand(b.known_hosts ?? DEFAULT_KNOWN_HOSTS),
      policy: b.policy,
      keepaliveSec: b.keepalive,
      maxSessionAgeSec: b.max_session_age,
      jump: b.jump ?? null,
    })),
    zones: zoneList,
    apps: apps.map(({ value: a }) => ({
      name: a.name,
      target: a.target,
      ports: a.ports,
      via: a.bastion ?? a.via ?? zoneOf(a.name, zoneList)?.via ?? 'direct',
      description: a.description ?? null,
    })),
  };
}

function toProblems(issues: Issue[], text: string, file: string): ConfigProblem[] {
  const locator = new LineLocator(text);
  return issues
    .map((i, order) => ({
      order,
      p: { file, line: locator.lineOf(i.path), field: fieldName(i.path), message: i.message },
    }))
    .sort((a, b) => a.p.line - b.p.line || a.order - b.order)
    .map((x) => x.p);
}
