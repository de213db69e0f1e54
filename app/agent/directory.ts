// The answers the agent gives the daemon, from the user's config: which names are apps, how to reach
// each bastion (host keys from the config or the user's known_hosts, the public half of the user's
// key), and the OS configuration VNet needs. Files are read through `readText`, so tests can serve
// them from memory; nothing here prompts.
import { readFileSync } from 'node:fs';
import type { AppSpec, BastionSpecInfo, VNetConfig } from '../../ipc/messages';
import { hostKeysFor } from '../config/known-hosts';
import type { BastionConfig, UserConfig } from '../config/types';
import { readPrivateKeyFile } from '../ssh/keyfile';
import {
  encodePublicKeyBlob,
  parsePublicKeyLine,
  publicKeyLine,
  type SkKey,
  type SkPublicKey,
} from '../ssh/keys';

export type ReadText = (path: string) => string;
const readTextFile: ReadText = (path) => readFileSync(path, 'utf8');

export class AppDirectory {
  private readonly apps: Map<string, AppSpec>;

  constructor(
    readonly config: UserConfig,
    private readonly readText: ReadText = readTextFile,
    private readonly log: (msg: string) => void = () => {},
  ) {
    this.apps = new Map(
      config.apps.map((a) => [
        a.name,
        { fqdn: a.name, target: a.target, allowedPorts: a.ports, via: a.via } satisfies AppSpec,
      ]),
    );
  }

  vnetConfig(): VNetConfig {
    const c = this.config;
    return {
      range: c.vnet.range,
      ipv6: c.vnet.ipv6,
      mtu: c.vnet.mtu,
      zones: c.zones.map((z) => z.suffix),
      apps: c.apps.map((a) => a.name),
    };
  }

  resolve(fqdn: string): AppSpec | null {
    return this.apps.get(fqdn.toLowerCase().replace(/\.$/, '')) ?? null;
  }

  bastionConfig(name: string): BastionConfig | null {
    return this.config.bastions.find((b) => b.name === name) ?? null;
  }

  /** Connection details for the daemon's SSH dialer; throws with a sentence when a file is unusable. */
  bastion(name: string): BastionSpecInfo | null {
    const b = this.bastionConfig(name);
    if (!b) return null;
    return {
      name: b.name,
      host: b.host,
      port: b.port,
      user: b.user,
      hostKeys: b.hostKeys ?? this.knownHostKeys(b),
      publicKey: publicKeyLine(this.publicKey(b), `keyvnet:${b.name}`),
      policy: b.policy,
      keepaliveSec: b.keepaliveSec,
      maxSessionAgeSec: b.maxSessionAgeSec,
      jump: b.jump,
    };
  }

  /** The bastion's sk key with its key handle (the private key file), for signing. */
  signingKey(b: BastionConfig): SkKey {
    const path = b.keyPath.endsWith('.pub') ? b.keyPath.slice(0, -4) : b.keyPath;
    return readPrivateKeyFile(this.readText(path));
  }

  /** The public half, from the .pub file when there is one (no passphrase needed), else the key file. */
  publicKey(b: BastionConfig): SkPublicKey {
    const pub = b.keyPath.endsWith('.pub') ? b.keyPath : `${b.keyPath}.pub`;
    try {
      return parsePublicKeyLine(this.readText(pub).trim()).key;
    } catch {
      return this.signingKey(b);
    }
  }

  /** Is `publicKeyLine` this bastion's key? (Compared as key blobs, comments aside.) */
  isKeyOf(b: BastionConfig, line: string): boolean {
    try {
      const asked = encodePublicKeyBlob(parsePublicKeyLine(line).key);
      return asked.equals(encodePublicKeyBlob(this.publicKey(b)));
    } catch {
      return false;
    }
  }

  private knownHostKeys(b: BastionConfig): string[] {
    let text = '';
    try {
      text = this.readText(b.knownHostsPath);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    return hostKeysFor(text, b.host, b.port, (k) =>
      this.log(
        `known_hosts: a revoked key for ${b.host} is listed in ${b.knownHostsPath}: ${k.slice(0, 40)}…`,
      ),
    );
  }
}
