// The shape of config.toml, as zod 4 schemas: strict tables (an unknown field is an error), types,
// defaults and single-value checks. Checks across entries (references, overlaps, files) are in
// checks.ts. TOML names are snake_case, like the rest of the file; OpenSSH spellings get suggested.
import { z } from 'zod';
import { dnsName, duration, hostKeyLine, hostName, portSpec, target, ValueError, vnetRange } from './values';

/** A value parsed by `fn`, whose ValueError becomes a zod issue with its message. */
function parsed<I, T>(base: z.ZodType<I>, fn: (v: I) => T) {
  return base.transform((v, ctx) => {
    try {
      return fn(v);
    } catch (err) {
      if (!(err instanceof ValueError)) throw err;
      ctx.issues.push({ code: 'custom', message: err.message, input: v });
      return z.NEVER;
    }
  });
}

const intOrString = z.union([z.number(), z.string()]);
const bastionRef = z.string().min(1);

export const vnetSchema = z.strictObject({
  range: parsed(z.string(), vnetRange).default('100.64.0.0/10'),
  ipv6: z.boolean().default(true),
  mtu: z.int().min(1280).max(65535).optional(),
});

export const bastionSchema = z.strictObject({
  name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/),
  host: parsed(z.string(), hostName),
  port: z.int().min(1).max(65535).default(22),
  user: z.string().min(1).optional(),
  key: z.string().min(1),
  host_keys: z.array(parsed(z.string(), hostKeyLine)).min(1).optional(),
  known_hosts: z.string().min(1).optional(),
  policy: z.enum(['session', 'connection']).default('session'),
  keepalive: parsed(intOrString, duration).default(30),
  max_session_age: parsed(intOrString, duration).default(8 * 3600),
  jump: bastionRef.optional(),
});

export const zoneSchema = z.strictObject({
  suffix: parsed(z.string(), (v) => dnsName(v, 'a DNS suffix such as "corp.example.com"', true)),
  bastion: bastionRef.optional(),
  via: z.string().optional(), // "direct"; checks.ts explains other values
});

export const appSchema = z.strictObject({
  name: parsed(z.string(), (v) => dnsName(v, 'a DNS name such as "grafana.corp.example.com"')),
  target: parsed(z.string(), target),
  ports: z.array(parsed(z.unknown(), portSpec)).default([]),
  bastion: bastionRef.optional(),
  via: z.string().optional(), // "direct"; checks.ts explains other values
  description: z.string().optional(),
});

/** The top level: `[vnet]` and arrays of tables; each entry is checked on its own (load.ts). */
export const rootSchema = z.strictObject({
  vnet: z.record(z.string(), z.unknown()).optional(),
  bastion: z.array(z.record(z.string(), z.unknown())).optional(),
  zone: z.array(z.record(z.string(), z.unknown())).optional(),
  app: z.array(z.record(z.string(), z.unknown())).optional(),
});

export type RawBastion = z.output<typeof bastionSchema>;
export type RawZone = z.output<typeof zoneSchema>;
export type RawApp = z.output<typeof appSchema>;

export const SECTIONS = {
  vnet: vnetSchema,
  bastion: bastionSchema,
  zone: zoneSchema,
  app: appSchema,
} as const;
export type Section = keyof typeof SECTIONS;

/** What each field expects, for "wrong type" and "missing" messages. */
export const EXPECTED: Record<string, string> = {
  '': 'the tables [vnet], [[bastion]], [[zone]] and [[app]]',
  vnet: 'a [vnet] table',
  bastion: 'an array of tables, each starting with [[bastion]]',
  zone: 'an array of tables, each starting with [[zone]]',
  app: 'an array of tables, each starting with [[app]]',
  'vnet.range': 'an IPv4 CIDR such as "100.64.0.0/10"',
  'vnet.ipv6': 'true or false',
  'vnet.mtu': 'an integer 1280-65535',
  'bastion.name': 'a short name such as "corp" (letters, digits, ".", "_", "-")',
  'bastion.host': 'a host name or IP address, e.g. "bastion.corp.example.com"',
  'bastion.port': 'an integer 1-65535 (default 22)',
  'bastion.user': 'a user name on the bastion (default: your local user name)',
  'bastion.key': 'the path of your sk key file, e.g. "~/.ssh/id_ecdsa_sk"',
  'bastion.host_keys': 'a non-empty array of host keys, e.g. ["ssh-ed25519 AAAA..."]',
  'bastion.host_keys[]': 'a host key "type base64", e.g. "ssh-ed25519 AAAA..."',
  'bastion.known_hosts': 'the path of a known_hosts file (default "~/.ssh/known_hosts")',
  'bastion.policy': '"session" (one touch per session) or "connection" (one touch per connection)',
  'bastion.keepalive': 'seconds or a duration like "30s" (0 = off)',
  'bastion.max_session_age': 'seconds or a duration like "8h" (0 = no limit)',
  'bastion.jump': 'the name of another [[bastion]] to go through',
  'zone.suffix': 'a DNS suffix such as "corp.example.com"',
  'zone.bastion': 'the name of a [[bastion]]',
  'zone.via': '"direct" (no bastion)',
  'app.name': 'a DNS name such as "grafana.corp.example.com"',
  'app.target': '"host", "host:port" or "[ipv6]:port"',
  'app.ports': 'an array of ports and ranges, e.g. [443, "8000-8100"]',
  'app.ports[]': 'a port (e.g. 443) or a range in a string (e.g. "8000-8100")',
  'app.bastion': "the name of a [[bastion]] (default: the zone's)",
  'app.via': '"direct" (no bastion)',
  'app.description': 'a string',
};

/** OpenSSH (ssh_config) and other likely spellings → our field name, for "did you mean". */
export const ALIASES: Record<string, string> = {
  hostname: 'host',
  identityfile: 'key',
  identity_file: 'key',
  identity: 'key',
  proxyjump: 'jump',
  proxy_jump: 'jump',
  userknownhostsfile: 'known_hosts',
  user_known_hosts_file: 'known_hosts',
  knownhosts: 'known_hosts',
  hostkeys: 'host_keys',
  host_key: 'host_keys',
  serveraliveinterval: 'keepalive',
  server_alive_interval: 'keepalive',
  username: 'user',
  ports: 'port',
  domain: 'suffix',
  zone: 'suffix',
  cidr: 'range',
  fqdn: 'name',
  upstream: 'target',
  backend: 'target',
  dest: 'target',
  destination: 'target',
};

/** The known field names of a section ('' = top level). */
export function knownFields(section: string): string[] {
  if (section === '') return Object.keys(rootSchema.shape);
  const s = SECTIONS[section as Section];
  return s ? Object.keys(s.shape) : [];
}
