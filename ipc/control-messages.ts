// The agent's control socket (app/agent/control-server.ts): what `keyvnet key …` asks the running
// agent, which owns the security key and its prompts. Same JSON-RPC and rules as the daemon socket
// (ipc/rpc.ts: frame bound, requests in flight, deadlines, cancellation); `hello` first, role 'cli'.
// No PIN ever crosses this socket: the agent asks for it itself, on its own prompter.
//
//   cli → agent requests:     key/list, key/enroll, key/set-pin, key/change-pin, key/resident,
//                              key/sign-userauth (`keyvnet diag --auth`: the login signature of a bastion
//                              sign-in, checked as the daemon's key/sign is)
//   agent → cli notification: progress (what the agent is doing and asking, for the command to print)
import { z } from 'zod';

/** `--device PATH` of the key commands (a HID path, or `virtual:…` for the test key). */
const device = z.string().min(1).max(4096).optional();
const keyFile = z.string().max(64 * 1024);

export const KeyInfoSchema = z.object({
  label: z.string().max(256),
  kind: z.enum(['ctap2', 'u2f']),
  versions: z.array(z.string().max(64)).max(32),
  pinSet: z.boolean().nullable(),
  pinRetries: z.number().int().nullable(),
  credProtect: z.boolean(),
  residentKeys: z.boolean(),
  builtInUv: z.boolean(),
  aaguid: z.string().max(64).nullable(),
});

export const KeyListResult = z.object({
  keys: z
    .array(
      z.object({
        path: z.string().max(4096),
        product: z.string().max(256),
        info: KeyInfoSchema.nullable(),
        error: z.string().max(2048).nullable(),
      }),
    )
    .max(64),
});

export const KeyEnrollParams = z.object({
  device,
  type: z.enum(['ecdsa', 'ed25519']),
  application: z.string().min(1).max(256),
  resident: z.boolean(),
  verifyRequired: z.boolean(),
  noTouchRequired: z.boolean(),
  comment: z.string().max(1024),
});
/** The new key as an openssh-key-v1 private key file (key handle only: the secret stays on the key). */
export const KeyEnrollResult = z.object({ privateKeyFile: keyFile });

export const KeyDeviceParams = z.object({ device });
export const KeyPinResult = z.object({ keyLabel: z.string().max(256) });
export const KeyResidentResult = z.object({
  keys: z
    .array(z.object({ privateKeyFile: keyFile, user: z.string().max(64), fileName: z.string().max(256) }))
    .max(1024),
});

/**
 * `keyvnet diag --auth`: sign the SSH publickey userauth request of a sign-in to bastion `bastion` of
 * the agent's config, with `publicKey` (its configured key). The agent checks both and the data as it
 * checks the daemon's key/sign (app/agent/sign-service.ts), then prompts for the touch (and PIN).
 */
export const KeySignUserauthParams = z.object({
  bastion: z.string().min(1).max(128),
  /** The public key line of the key to sign with ("sk-ecdsa-sha2-nistp256@openssh.com AAAA..."). */
  publicKey: z.string().max(16_384),
  /** The data to sign (the SSH userauth request, session id first), base64. */
  data: z.string().max(16_384),
});
/** The SSH signature blob, base64. */
export const KeySignUserauthResult = z.object({ signature: z.string().max(16_384) });

export const ProgressNote = z.object({ message: z.string().max(2048) });

export const ControlRequests = {
  'key/list': { params: z.object({}).strict(), result: KeyListResult },
  'key/enroll': { params: KeyEnrollParams, result: KeyEnrollResult },
  'key/set-pin': { params: KeyDeviceParams, result: KeyPinResult },
  'key/change-pin': { params: KeyDeviceParams, result: KeyPinResult },
  'key/resident': { params: KeyDeviceParams, result: KeyResidentResult },
  'key/sign-userauth': { params: KeySignUserauthParams, result: KeySignUserauthResult },
} as const;

export const ControlNotifications = { progress: ProgressNote } as const;

export type KeyListResult = z.infer<typeof KeyListResult>;
export type KeyEnrollParams = z.infer<typeof KeyEnrollParams>;
