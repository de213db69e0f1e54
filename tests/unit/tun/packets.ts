// Small IPv4/IPv6 packet builders and checksum checkers for the tun unit tests.

export function checksum(buf: Buffer, initial = 0): number {
  let sum = initial;
  for (let i = 0; i + 1 < buf.length; i += 2) sum += buf.readUInt16BE(i);
  if (buf.length % 2) sum += buf[buf.length - 1] << 8;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

function ip4(proto: number, payload: Buffer, src = [10, 0, 0, 1], dst = [10, 0, 0, 2]): Buffer {
  const h = Buffer.alloc(20);
  h[0] = 0x45;
  h.writeUInt16BE(20 + payload.length, 2);
  h.writeUInt16BE(0x4000, 6); // DF
  h[8] = 64;
  h[9] = proto;
  Buffer.from(src).copy(h, 12);
  Buffer.from(dst).copy(h, 16);
  h.writeUInt16BE(checksum(h), 10);
  return Buffer.concat([h, payload]);
}

function pseudo6(pkt: Buffer, proto: number, len: number): number {
  const p = Buffer.alloc(40);
  pkt.copy(p, 0, 8, 40);
  p.writeUInt32BE(len, 32);
  p[39] = proto;
  return ~checksum(p) & 0xffff;
}

export function icmp4Echo(data = Buffer.from('kvn-echo')): Buffer {
  const icmp = Buffer.concat([Buffer.from([8, 0, 0, 0, 0x12, 0x34, 0, 1]), data]);
  icmp.writeUInt16BE(checksum(icmp), 2);
  return ip4(1, icmp);
}

export function udp4(dport: number, data = Buffer.from('hello')): Buffer {
  const u = Buffer.concat([Buffer.alloc(8), data]);
  u.writeUInt16BE(40000, 0);
  u.writeUInt16BE(dport, 2);
  u.writeUInt16BE(u.length, 4);
  const pkt = ip4(17, u);
  const ph = Buffer.alloc(12);
  pkt.copy(ph, 0, 12, 20);
  ph[9] = 17;
  ph.writeUInt16BE(u.length, 10);
  pkt.writeUInt16BE(checksum(pkt.subarray(20), ~checksum(ph) & 0xffff), 26);
  return pkt;
}

export function ip6(next: number, payload: Buffer): Buffer {
  const h = Buffer.alloc(40);
  h[0] = 0x60;
  h.writeUInt16BE(payload.length, 4);
  h[6] = next;
  h[7] = 64;
  Buffer.from('fd000000000000000000000000000001', 'hex').copy(h, 8);
  Buffer.from('fd000000000000000000000000000002', 'hex').copy(h, 24);
  const pkt = Buffer.concat([h, payload]);
  if (next === 58) pkt.writeUInt16BE(checksum(payload, pseudo6(pkt, 58, payload.length)), 42);
  return pkt;
}

export function icmp6Echo(): Buffer {
  return ip6(58, Buffer.concat([Buffer.from([128, 0, 0, 0, 0xab, 0xcd, 0, 7]), Buffer.from('ping6')]));
}

/** True if the IPv4 header checksum and the ICMP checksum verify. */
export function icmp4Valid(pkt: Buffer): boolean {
  return checksum(pkt.subarray(0, 20)) === 0 && checksum(pkt.subarray(20)) === 0;
}

export function icmp6Valid(pkt: Buffer): boolean {
  const len = pkt.length - 40;
  return checksum(pkt.subarray(40), pseudo6(pkt, 58, len)) === 0;
}

export function udp4Valid(pkt: Buffer): boolean {
  const ph = Buffer.alloc(12);
  pkt.copy(ph, 0, 12, 20);
  ph[9] = 17;
  ph.writeUInt16BE(pkt.length - 20, 10);
  return checksum(pkt.subarray(0, 20)) === 0 && checksum(pkt.subarray(20), ~checksum(ph) & 0xffff) === 0;
}

/** A bare TCP SYN to `dport` (checksums not filled: nothing here verifies them). */
export function tcp4Syn(dport: number): Buffer {
  const t = Buffer.alloc(20);
  t.writeUInt16BE(40001, 0);
  t.writeUInt16BE(dport, 2);
  t.writeUInt32BE(1234, 4);
  t[12] = 5 << 4;
  t[13] = 0x02; // SYN
  t.writeUInt16BE(65535, 14);
  return ip4(6, t);
}
