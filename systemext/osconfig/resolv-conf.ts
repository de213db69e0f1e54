// Pure logic for a resolv.conf(5) that we point at our DNS server (Linux, inside a network namespace).
// The rewritten file carries the original byte-for-byte (base64 in a comment), so cleanup restores it
// exactly even when our state file was lost (crash, kill -9). Its nameservers are read by the DNS
// side's parser, the one the engine uses for upstreams.
import { parseResolvConf } from '../dns/system-config-parse';

export const MARKER = '# managed by KeyVNet: do not edit';
const ORIGINAL_TAG = '# keyvnet-original-base64: ';

/** Whether the file is one we wrote. */
export function isOurs(content: string): boolean {
  return content.startsWith(MARKER + '\n');
}

/**
 * The resolv.conf that sends every query to our DNS addresses (the engine answers VNet zones and
 * forwards the rest to the original upstreams). `search`/`options` lines of the original are kept.
 */
export function ourResolvConf(original: string, dnsAddresses: string[]): string {
  const kept = original
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => /^(search|domain|options)\s/.test(l));
  // glibc reads at most 3 nameservers (MAXNS in resolv.h).
  const ns = dnsAddresses.slice(0, 3).map((a) => `nameserver ${a}`);
  const b64 = Buffer.from(original, 'utf8').toString('base64');
  return [MARKER, ...ns, ...kept, `${ORIGINAL_TAG}${b64}`, ''].join('\n');
}

/** The original content embedded in one of our files, or null when the file is not ours / is damaged. */
export function originalFrom(ours: string): string | null {
  if (!isOurs(ours)) return null;
  const line = ours.split('\n').find((l) => l.startsWith(ORIGINAL_TAG));
  if (line === undefined) return null;
  return Buffer.from(line.slice(ORIGINAL_TAG.length).trim(), 'base64').toString('utf8');
}

/** Upstream nameservers: those of the original (never ourselves), taken from one of our files or a plain one. */
export function upstreamsOf(content: string, dnsAddresses: string[]): string[] {
  const original = isOurs(content) ? (originalFrom(content) ?? '') : content;
  return parseResolvConf(original).filter((a) => !dnsAddresses.includes(a));
}
