// The VNet DNS server's logic: bytes of a query in, bytes of an answer out (or null to drop).
// Transport-independent; the engine feeds it UDP payloads and TCP frames.
//
// Names in a VNet zone that are apps get A/AAAA (TTL 10 s) with their virtual IPs; other record
// types for an app name get NOERROR/NODATA. Everything else is forwarded upstream. For a name in
// a VNet zone that is no app, the upstream answer is relayed when there is one; when no upstream
// gives a usable answer (none configured, timeout, SERVFAIL, REFUSED) we answer NXDOMAIN
// ourselves, because a VNet zone is the company's, not the public DNS's: a local NXDOMAIN is the
// truth there, while SERVFAIL would make clients retry for nothing. Outside the zones a failed
// forward is SERVFAIL. Malformed queries whose header parses get FORMERR; shorter ones are dropped.
import * as dnsPacket from 'dns-packet';
import { inZones, type AppResolver } from '../vnet/resolver';
import { normalizeName } from '../vnet/addresses';
import type { Forwarder } from './forwarder';

const QR = 0x8000;
const AA = 1 << 10;
const TC = 1 << 9;
const RD = 1 << 8;
const RA = 1 << 7;
export const RCODE = { NOERROR: 0, FORMERR: 1, SERVFAIL: 2, NXDOMAIN: 3, NOTIMP: 4, REFUSED: 5 } as const;

export interface DnsResponderOptions {
  resolver: AppResolver;
  /** The app's virtual IPs (assigned on first use). */
  addresses: (fqdn: string) => { v4: string; v6: string };
  /** Whether to answer AAAA with the app's IPv6 address (else NODATA). */
  ipv6: boolean;
  forwarder: Forwarder;
  ttl?: number;
  /** Called when a query names something inside a VNet zone that is no app (e.g. to tell the user). */
  onMiss?: (fqdn: string, qtype: string) => void;
}

export class DnsResponder {
  private readonly ttl: number;

  constructor(private readonly opts: DnsResponderOptions) {
    this.ttl = opts.ttl ?? 10;
  }

  /** Answers one query. `transport` decides the size limit (UDP: 512 or the EDNS size). */
  async handle(query: Buffer, transport: 'udp' | 'tcp', maxUdp = 4096): Promise<Buffer | null> {
    if (query.length < 12 || query[2] & 0x80) return null; // no header, or a response: drop
    const opcode = (query[2] >> 3) & 0x0f;
    const rd = query[2] & 0x01 ? RD : 0;
    let msg: dnsPacket.Packet;
    try {
      msg = dnsPacket.decode(query);
    } catch {
      return headerOnly(query.readUInt16BE(0), opcode, rd, RCODE.FORMERR);
    }
    const id = msg.id ?? 0;
    if (opcode !== 0) return headerOnly(id, opcode, rd, RCODE.NOTIMP);
    const questions = msg.questions ?? [];
    if (questions.length !== 1) return headerOnly(id, opcode, rd, RCODE.FORMERR);
    const opt = (msg.additionals ?? []).find((a) => a.type === 'OPT') as dnsPacket.OptAnswer | undefined;
    const limit = transport === 'tcp' ? 65535 : Math.min(maxUdp, Math.max(512, opt?.udpPayloadSize ?? 512));
    const q = questions[0];
    const name = normalizeName(q.name);
    const zones = this.opts.resolver.zones();
    const reply = (
      flags: number,
      answers: dnsPacket.Answer[],
      authorities: dnsPacket.Answer[] = [],
    ): Buffer =>
      this.fit(
        dnsPacket.encode({
          type: 'response',
          id,
          flags: flags | rd | RA,
          questions: [q],
          answers,
          authorities,
          additionals: opt
            ? [{ type: 'OPT', name: '.', udpPayloadSize: 1232, flags: 0 } as dnsPacket.Answer]
            : [],
        }),
        limit,
      );

    if ((q.class ?? 'IN') === 'IN' && inZones(name, zones)) {
      let app;
      try {
        app = await this.opts.resolver.resolve(name);
      } catch {
        return reply(RCODE.SERVFAIL, []);
      }
      const zone = zones.map(normalizeName).find((z) => name === z || name.endsWith(`.${z}`)) ?? name;
      if (app) {
        const ips = this.opts.addresses(name);
        const answers: dnsPacket.Answer[] = [];
        const t = q.type as string;
        if (t === 'A' || t === 'ANY') answers.push({ type: 'A', name: q.name, ttl: this.ttl, data: ips.v4 });
        if ((t === 'AAAA' || t === 'ANY') && this.opts.ipv6) {
          answers.push({ type: 'AAAA', name: q.name, ttl: this.ttl, data: ips.v6 });
        }
        return reply(AA | RCODE.NOERROR, answers, answers.length ? [] : [this.soa(zone)]);
      }
      this.opts.onMiss?.(name, String(q.type));
      const up = await this.opts.forwarder.forward(query, transport === 'tcp');
      if (up && up.length >= 12 && ![RCODE.SERVFAIL, RCODE.REFUSED].includes((up[3] & 0x0f) as 2 | 5)) {
        return this.fitRaw(up, q, limit);
      }
      return reply(AA | RCODE.NXDOMAIN, [], [this.soa(zone)]);
    }

    const up = await this.opts.forwarder.forward(query, transport === 'tcp');
    if (!up || up.length < 12) return reply(RCODE.SERVFAIL, []);
    return this.fitRaw(up, q, limit);
  }

  /** A synthetic SOA so resolvers cache negative answers for our TTL (RFC 2308). */
  private soa(zone: string): dnsPacket.Answer {
    return {
      type: 'SOA',
      name: zone,
      ttl: this.ttl,
      data: {
        mname: `vnet-dns.${zone}`,
        rname: `hostmaster.${zone}`,
        serial: 1,
        refresh: 3600,
        retry: 600,
        expire: 86400,
        minimum: this.ttl,
      },
    };
  }

  private fit(resp: Buffer, limit: number): Buffer {
    if (resp.length <= limit) return resp;
    return truncated(resp, dnsPacket.decode(resp).questions ?? []);
  }

  /** Relays an upstream answer, truncated (TC) when too big for the client's transport. */
  private fitRaw(resp: Buffer, q: dnsPacket.Question, limit: number): Buffer {
    if (resp.length <= limit) return resp;
    return truncated(resp, [q]);
  }
}

/** Header and question only, with TC set: the client retries over TCP (RFC 7766 §5). */
function truncated(resp: Buffer, questions: dnsPacket.Question[]): Buffer {
  const flags = resp.readUInt16BE(2) & 0x7fff;
  return dnsPacket.encode({ type: 'response', id: resp.readUInt16BE(0), flags: flags | TC, questions });
}

/** A 12-byte response with no sections, for queries we cannot or will not parse. */
export function headerOnly(id: number, opcode: number, rd: number, rcode: number): Buffer {
  const b = Buffer.alloc(12);
  b.writeUInt16BE(id, 0);
  b.writeUInt16BE(QR | (opcode << 11) | rd | RA | rcode, 2);
  return b;
}
