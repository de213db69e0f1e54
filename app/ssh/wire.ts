// SSH wire encoding (RFC 4251 §5): byte, uint32, string, mpint. Used by the key blobs, key files,
// signatures and the agent protocol. The reader names the field it was reading when data runs out,
// so a truncated file or frame gets an error that points at what is wrong.

export class SshFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SshFormatError';
  }
}

export class SshWriter {
  private readonly parts: Buffer[] = [];

  byte(v: number): this {
    this.parts.push(Buffer.from([v & 0xff]));
    return this;
  }

  uint32(v: number): this {
    const b = Buffer.alloc(4);
    b.writeUInt32BE(v >>> 0);
    this.parts.push(b);
    return this;
  }

  /** A length-prefixed byte string (or UTF-8 text). */
  string(v: Buffer | string): this {
    const data = typeof v === 'string' ? Buffer.from(v, 'utf8') : v;
    this.uint32(data.length);
    this.parts.push(data);
    return this;
  }

  /** An unsigned big-endian integer as an mpint: no leading zeros, a 0x00 prefix if the top bit is set. */
  mpint(unsigned: Buffer): this {
    let i = 0;
    while (i < unsigned.length && unsigned[i] === 0) i++;
    let v = unsigned.subarray(i);
    if (v.length > 0 && v[0] & 0x80) v = Buffer.concat([Buffer.from([0]), v]);
    return this.string(v);
  }

  raw(v: Buffer): this {
    this.parts.push(v);
    return this;
  }

  toBuffer(): Buffer {
    return Buffer.concat(this.parts);
  }
}

export class SshReader {
  private pos = 0;

  /** `what` names the structure being read, for error messages ("public key blob", "agent frame"). */
  constructor(
    private readonly buf: Buffer,
    private readonly what: string,
  ) {}

  get remaining(): number {
    return this.buf.length - this.pos;
  }

  private take(n: number, field: string): Buffer {
    if (n > this.remaining) {
      throw new SshFormatError(
        `${this.what} is truncated: ${field} needs ${n} bytes at offset ${this.pos}, only ${this.remaining} left`,
      );
    }
    const out = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  byte(field: string): number {
    return this.take(1, field)[0];
  }

  uint32(field: string): number {
    return this.take(4, field).readUInt32BE(0);
  }

  string(field: string): Buffer {
    const len = this.uint32(`length of ${field}`);
    return this.take(len, field);
  }

  /** A string that must be valid UTF-8 text. */
  text(field: string): string {
    const raw = this.string(field);
    const s = raw.toString('utf8');
    if (!Buffer.from(s, 'utf8').equals(raw))
      throw new SshFormatError(`${this.what}: ${field} is not valid UTF-8`);
    return s;
  }

  /** An mpint that must be non-negative; returns its magnitude without leading zeros. */
  mpintUnsigned(field: string): Buffer {
    const v = this.string(field);
    if (v.length > 0 && v[0] & 0x80) throw new SshFormatError(`${this.what}: ${field} is a negative mpint`);
    let i = 0;
    while (i < v.length && v[i] === 0) i++;
    return v.subarray(i);
  }

  rest(): Buffer {
    return this.take(this.remaining, 'rest');
  }

  /** Fails if bytes are left over (a blob with trailing garbage is malformed, not "close enough"). */
  end(): void {
    if (this.remaining !== 0) {
      throw new SshFormatError(
        `${this.what} has ${this.remaining} unexpected trailing bytes at offset ${this.pos}`,
      );
    }
  }
}
