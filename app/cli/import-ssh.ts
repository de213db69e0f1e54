// `keyvnet config import-ssh HOST`: an OpenSSH ~/.ssh/config Host entry (parsed by `ssh-config`, with
// `Host *` defaults applied the way ssh does) → [[bastion]] tables for config.toml. ProxyJump hops
// become bastions of their own, chained with `jump =`; host keys come from known_hosts and are pinned
// with `host_keys =`. Pure: file contents are arguments.
import SSHConfig from 'ssh-config';
import { hostKeysFor } from '../config/known-hosts';

export interface ImportInput {
  /** The text of ~/.ssh/config. */
  sshConfig: string;
  /** The Host alias to import, as the user types it after `ssh`. */
  host: string;
  /** known_hosts contents by path (the user's default file, and any UserKnownHostsFile). */
  knownHosts: (path: string) => string | null;
  /** The local user name (ssh's %u) and home directory (for ~). */
  localUser: string;
}

export interface BastionDraft {
  name: string;
  host: string;
  port: number;
  user: string | null;
  key: string;
  hostKeys: string[];
  jump: string | null;
  /** Lines to print as comments above the table (what could not be carried over, what to check). */
  notes: string[];
}

export interface ImportResult {
  /** The hops first, then the bastion itself: the order the TOML is written in. */
  bastions: BastionDraft[];
  /** Problems for the user, already in the notes of the bastion they concern. */
  warnings: string[];
}

export class ImportError extends Error {}

const DEFAULT_KEY = '~/.ssh/id_ecdsa_sk';
const MAX_HOPS = 8;

type Computed = Record<string, string | string[]>;

function one(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}

function all(v: string | string[] | undefined): string[] {
  return v === undefined ? [] : Array.isArray(v) ? v : [v];
}

/** A bastion name from a Host alias or host name: what config.toml accepts ([A-Za-z0-9][A-Za-z0-9._-]*). */
export function bastionName(alias: string): string {
  const s = alias.replace(/[^A-Za-z0-9._-]+/g, '-').replace(/^[^A-Za-z0-9]+/, '');
  return s === '' ? 'bastion' : s.slice(0, 64);
}

/** ssh's TOKENS for HostName and IdentityFile: %h host, %p port, %r remote user, %u local user, %d home, %%. */
export function expandTokens(
  s: string,
  t: { host: string; port: number; user: string; localUser: string },
): string {
  return s.replace(/%([hprud%])/g, (_, c: string) =>
    c === 'h'
      ? t.host
      : c === 'p'
        ? String(t.port)
        : c === 'r'
          ? t.user
          : c === 'u'
            ? t.localUser
            : c === 'd'
              ? '~'
              : '%',
  );
}

/** `[user@]host[:port]` (a ProxyJump hop; also `ssh://[user@]host[:port]`). */
export function parseJumpSpec(spec: string): { user: string | null; host: string; port: number | null } {
  let s = spec.trim().replace(/^ssh:\/\//, '');
  let user: string | null = null;
  const at = s.lastIndexOf('@');
  if (at >= 0) {
    user = s.slice(0, at);
    s = s.slice(at + 1);
  }
  let port: number | null = null;
  const m = /^\[([^\]]+)\](?::(\d+))?$/.exec(s) ?? /^([^:]+)(?::(\d+))?$/.exec(s);
  if (!m) throw new ImportError(`cannot read the ProxyJump hop "${spec}" ([user@]host[:port] expected)`);
  if (m[2] !== undefined) port = Number(m[2]);
  if (port !== null && (port < 1 || port > 65535)) throw new ImportError(`ProxyJump hop "${spec}": bad port`);
  return { user, host: m[1], port };
}

export function importSshHost(input: ImportInput): ImportResult {
  let cfg: ReturnType<typeof SSHConfig.parse>;
  try {
    cfg = SSHConfig.parse(input.sshConfig);
  } catch (err) {
    throw new ImportError(`cannot parse the ssh config: ${(err as Error).message}`);
  }
  // A `Host *` block alone does not count: it would turn any typo into a bastion.
  const hasHostBlock = (alias: string): boolean =>
    cfg.some(
      (l) =>
        'param' in l &&
        /^host$/i.test(l.param) &&
        hostPatterns(l.value).some((p) => p !== '*' && matchGlob(alias, p)),
    );
  if (!hasHostBlock(input.host) || /[*?]/.test(input.host)) {
    throw new ImportError(`no "Host ${input.host}" entry in the ssh config`);
  }

  const result: ImportResult = { bastions: [], warnings: [] };
  const seen = new Set<string>();

  // Builds the bastion for `alias` (a Host alias or a plain host name), its hops first.
  const build = (
    alias: string,
    override: { user: string | null; port: number | null },
    depth: number,
  ): string => {
    if (depth > MAX_HOPS) throw new ImportError(`ProxyJump chain longer than ${MAX_HOPS} hops (a loop?)`);
    const c = cfg.compute(alias) as Computed;
    const notes: string[] = [];
    const port = override.port ?? Number(one(c.Port) ?? 22);
    if (!Number.isInteger(port) || port < 1 || port > 65535) throw new ImportError(`Host ${alias}: bad Port`);
    const user = override.user ?? one(c.User) ?? null;
    const tokens = { host: alias, port, user: user ?? input.localUser, localUser: input.localUser };
    const host = expandTokens(one(c.HostName) ?? alias, tokens);
    const name = bastionName(alias);
    if (seen.has(name)) throw new ImportError(`ProxyJump loop through "${alias}"`);
    seen.add(name);

    // Hops: "A,B" means through A, then B, then here; "none" means no jump.
    let jump: string | null = null;
    const proxyJump = one(c.ProxyJump);
    if (proxyJump && proxyJump.toLowerCase() !== 'none') {
      for (const hop of proxyJump.split(',')) {
        const spec = parseJumpSpec(hop);
        const hopName = build(spec.host, { user: spec.user, port: spec.port }, depth + 1);
        const drafted = result.bastions.find((b) => b.name === hopName);
        if (drafted && jump !== null) drafted.jump = jump;
        jump = hopName;
      }
    }
    if (one(c.ProxyCommand) && one(c.ProxyCommand)!.toLowerCase() !== 'none') {
      notes.push(`ProxyCommand "${one(c.ProxyCommand)}" is not carried over: use ProxyJump (jump =) instead`);
    }

    const ids = all(c.IdentityFile).map((f) => expandTokens(f, tokens));
    let key = ids.find((f) => /_sk(\.pub)?$|sk-/.test(f)) ?? ids[0];
    if (key === undefined) {
      key = DEFAULT_KEY;
      notes.push(`no IdentityFile: key = "${DEFAULT_KEY}" assumed; point it at your sk key`);
    } else if (!/_sk(\.pub)?$|sk-/.test(key)) {
      notes.push(`IdentityFile ${key} does not look like a FIDO (sk) key: KeyVNet signs with sk keys only`);
    }
    if (ids.length > 1) notes.push(`several IdentityFile lines: ${key} chosen`);

    const khFiles = all(c.UserKnownHostsFile)
      .flatMap((f) => f.split(/\s+/))
      .filter(Boolean);
    const files = khFiles.length > 0 ? khFiles : ['~/.ssh/known_hosts', '~/.ssh/known_hosts2'];
    const lookupName = one(c.HostKeyAlias) ?? host;
    const hostKeys: string[] = [];
    for (const f of files) {
      const text = input.knownHosts(expandTokens(f, tokens));
      if (text === null) continue;
      for (const k of hostKeysFor(text, lookupName, port, (rk) =>
        notes.push(`known_hosts marks a key @revoked: ${rk.slice(0, 40)}…`),
      ))
        if (!hostKeys.includes(k)) hostKeys.push(k);
    }
    if (hostKeys.length === 0) {
      notes.push(
        `no known_hosts entry for ${port === 22 ? host : `[${host}]:${port}`}: connect once with ssh (and check the fingerprint), or add host_keys = [...]`,
      );
    }
    result.bastions.push({ name, host, port, user, key, hostKeys, jump, notes });
    result.warnings.push(...notes.map((n) => `${name}: ${n}`));
    return name;
  };

  build(input.host, { user: null, port: null }, 0);
  return result;
}

function hostPatterns(v: unknown): string[] {
  if (typeof v === 'string') return v.split(/\s+/).filter(Boolean);
  if (Array.isArray(v)) return v.map((x: { val: string }) => x.val);
  return [];
}

function matchGlob(s: string, pattern: string): boolean {
  if (pattern.startsWith('!')) return false;
  const re = pattern
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^${re}$`, 'i').test(s);
}

/** TOML basic string (JSON's escapes are valid TOML). */
function q(s: string): string {
  return JSON.stringify(s);
}

/** The [[bastion]] tables, as they are appended to config.toml. */
export function bastionToml(drafts: BastionDraft[], source: string): string {
  return drafts
    .map((b) => {
      const lines = [`# imported from ${source} by \`keyvnet config import-ssh\``];
      for (const n of b.notes) lines.push(`# NOTE: ${n}`);
      lines.push('[[bastion]]', `name = ${q(b.name)}`, `host = ${q(b.host)}`);
      if (b.port !== 22) lines.push(`port = ${b.port}`);
      if (b.user !== null) lines.push(`user = ${q(b.user)}`);
      lines.push(`key = ${q(b.key)}`);
      if (b.hostKeys.length === 1) lines.push(`host_keys = [${q(b.hostKeys[0])}]`);
      else if (b.hostKeys.length > 1)
        lines.push('host_keys = [', ...b.hostKeys.map((k) => `  ${q(k)},`), ']');
      if (b.jump !== null) lines.push(`jump = ${q(b.jump)}`);
      return lines.join('\n') + '\n';
    })
    .join('\n');
}
