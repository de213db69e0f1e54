// CBOR for CTAP2 via cborg. cborg ships as ES modules only, and this code runs as CommonJS, so
// it is imported dynamically once. cborg's default encoder sorts map keys the CTAP2-canonical
// way (length first, then bytewise; CTAP 2.1 §8 "Message Encoding"); maps are decoded as Map so
// integer keys stay integers.

type Cborg = typeof import('cborg');
let cborg: Promise<Cborg> | null = null;

function load(): Promise<Cborg> {
  cborg ??= import('cborg');
  return cborg;
}

export type CborMap = Map<number | string, unknown>;

export async function cborEncode(value: unknown): Promise<Buffer> {
  const { encode } = await load();
  return Buffer.from(encode(value));
}

/** Decode exactly one item; trailing bytes are an error. */
export async function cborDecode(data: Uint8Array): Promise<unknown> {
  const { decode } = await load();
  return toBuffers(decode(data, { useMaps: true, rejectDuplicateMapKeys: true }));
}

/** Decode the first item and return the rest (authenticatorData: COSE key followed by extensions). */
export async function cborDecodeFirst(data: Uint8Array): Promise<[unknown, Buffer]> {
  const { decodeFirst } = await load();
  const [value, rest] = decodeFirst(data, { useMaps: true, rejectDuplicateMapKeys: true });
  return [toBuffers(value), Buffer.from(rest)];
}

/** cborg yields Uint8Array for byte strings; the rest of the code works with Buffer. */
function toBuffers(v: unknown): unknown {
  if (v instanceof Uint8Array) return Buffer.from(v.buffer, v.byteOffset, v.byteLength);
  if (Array.isArray(v)) return v.map(toBuffers);
  if (v instanceof Map) {
    const m = new Map<unknown, unknown>();
    for (const [k, val] of v) m.set(k, toBuffers(val));
    return m;
  }
  return v;
}

// Small typed accessors so callers validate what peers send instead of trusting it.

export class CborShapeError extends Error {}

export function asMap(v: unknown, what: string): CborMap {
  if (!(v instanceof Map)) throw new CborShapeError(`${what} is not a CBOR map`);
  return v as CborMap;
}

export function getBytes(m: CborMap, key: number | string, what: string): Buffer;
export function getBytes(m: CborMap, key: number | string, what: string, optional: true): Buffer | undefined;
export function getBytes(
  m: CborMap,
  key: number | string,
  what: string,
  optional = false,
): Buffer | undefined {
  const v = m.get(key);
  if (v === undefined && optional) return undefined;
  if (!Buffer.isBuffer(v)) throw new CborShapeError(`${what} is missing or not a byte string`);
  return v;
}

export function getInt(m: CborMap, key: number | string, what: string): number;
export function getInt(m: CborMap, key: number | string, what: string, optional: true): number | undefined;
export function getInt(m: CborMap, key: number | string, what: string, optional = false): number | undefined {
  const v = m.get(key);
  if (v === undefined && optional) return undefined;
  if (typeof v !== 'number' || !Number.isInteger(v))
    throw new CborShapeError(`${what} is missing or not an integer`);
  return v;
}

export function getString(m: CborMap, key: number | string, what: string): string;
export function getString(m: CborMap, key: number | string, what: string, optional: true): string | undefined;
export function getString(
  m: CborMap,
  key: number | string,
  what: string,
  optional = false,
): string | undefined {
  const v = m.get(key);
  if (v === undefined && optional) return undefined;
  if (typeof v !== 'string') throw new CborShapeError(`${what} is missing or not a text string`);
  return v;
}
