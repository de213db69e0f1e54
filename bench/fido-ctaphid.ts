// Benchmark (not a test): what the CTAPHID transport + CTAP2 client cost per signature.
// Side by side, interleaved: getAssertion through the whole stack (SecurityKey → CBOR → 64-byte
// reports → virtual authenticator → reports back), vs the same CBOR request handed straight to
// the virtual authenticator's CTAP2 engine (the peer: no transport, no client). Touch is
// automatic, so both sides do the same signing work.
// Run: node --import tsx bench/fido-ctaphid.ts [rounds]

import type { OperationContext } from '../app/fido/api';
import { performance } from 'node:perf_hooks';
import { createHash } from 'node:crypto';
import { COSE_EDDSA, COSE_ES256, type UserPrompter } from '../app/fido';
import { openVirtualSecurityKey, VirtualAuthenticator } from '../app/fido/testing';
import { cborEncode } from '../app/fido/ctap2/cbor';

const ROUNDS = Number(process.argv[2] ?? 300);

const prompter: UserPrompter = { askPin: async () => null, touchNeeded: () => {}, touchDone: () => {} };
const ctx: OperationContext = { purpose: { what: 'ssh-sign', requester: 'app' } };

function p50(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

async function run(alg: typeof COSE_ES256 | typeof COSE_EDDSA): Promise<void> {
  const va = new VirtualAuthenticator();
  const key = await openVirtualSecurityKey(va, prompter);
  const clientDataHash = createHash('sha256').update('bench').digest();
  const cred = await key.makeCredential(
    {
      rpId: 'ssh:',
      clientDataHash,
      userId: Buffer.alloc(32),
      userName: 'bench',
      algorithm: alg,
      residentKey: false,
      userVerification: false,
    },
    ctx,
  );
  const req = {
    rpId: 'ssh:',
    clientDataHash,
    credentialIds: [cred.credentialId],
    userPresence: true,
    userVerification: false,
  };
  const direct = Buffer.concat([
    Buffer.from([0x02]),
    await cborEncode(
      new Map<number, unknown>([
        [1, 'ssh:'],
        [2, clientDataHash],
        [
          3,
          [
            new Map<string, unknown>([
              ['id', cred.credentialId],
              ['type', 'public-key'],
            ]),
          ],
        ],
      ]),
    ),
  ]);
  const engine = va.currentEngine!;
  const io = { signal: new AbortController().signal, keepalive: () => {} };
  const full: number[] = [];
  const peer: number[] = [];
  for (let i = 0; i < 20; i++) {
    await key.getAssertion(req, ctx);
    await engine.handle(direct, io);
  }
  for (let i = 0; i < ROUNDS; i++) {
    let t = performance.now();
    await key.getAssertion(req, ctx);
    full.push(performance.now() - t);
    t = performance.now();
    const r = await engine.handle(direct, io);
    peer.push(performance.now() - t);
    if (r[0] !== 0) throw new Error(`engine status ${r[0]}`);
  }
  await key.close();
  va.unplug();
  const name = alg === COSE_ES256 ? 'ES256' : 'EdDSA';
  console.log(
    `${name}: full stack p50 ${p50(full).toFixed(3)} ms, engine alone p50 ${p50(peer).toFixed(3)} ms, ` +
      `ratio ${(p50(full) / p50(peer)).toFixed(2)}x (${ROUNDS} interleaved rounds)`,
  );
}

(async () => {
  await run(COSE_ES256);
  await run(COSE_EDDSA);
})().catch((err) => {
  console.error(err);
  process.exit(1);
});
