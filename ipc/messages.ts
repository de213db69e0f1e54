// The messages between the user's agent and the root daemon, one zod schema each. Both sides validate
// what they receive with these, so a malformed or hostile message is a clear error for that request,
// never a crash. docs/ARCHITECTURE.md lists them with an example each.
//
// Direction and kind:
//   agent → daemon requests:   hello, ping, vnet/configure, vnet/up, vnet/down, vnet/status,
//                               vnet/connections, bastion/disconnect
//   daemon → agent requests:   ping, app/resolve, bastion/get, key/sign
//   daemon → agent notification: event
//   the agent's control socket (keyvnet → agent): see control-messages.ts, served by the same RpcPeer
//   either way: $/cancelRequest (JSON-RPC cancellation, vscode-jsonrpc's), mapped to AbortSignals.
import { z } from 'zod';
import { ControlNotifications, ControlRequests } from './control-messages';

/** Bumped on any incompatible change; `hello` refuses a peer with another one. */
export const PROTOCOL_VERSION = 1;

const fqdn = z.string().min(1).max(253);
const name = z.string().min(1).max(128);
const port = z.number().int().min(1).max(65535);
const cidr = z.string().min(1).max(64);
const b64 = z.string().max(1 << 20);

export const PortRangeSchema = z.union([port, z.tuple([port, port])]);

export const HelloParams = z.object({
  protocol: z.number().int(),
  version: z.string().max(64),
  /** 'agent': the one process that serves the daemon's requests; 'cli': read commands and up/down only. */
  role: z.enum(['agent', 'cli']),
  pid: z.number().int(),
});
export const HelloResult = z.object({
  protocol: z.number().int(),
  version: z.string().max(64),
  pid: z.number().int(),
});

/** The target OS configuration the agent pushes: the daemon applies it on `vnet/up`. */
export const VNetConfig = z.object({
  range: cidr,
  ipv6: z.boolean(),
  mtu: z.number().int().min(1280).max(65535).nullable(),
  zones: z.array(fqdn).max(256),
  /** Names of the configured apps, so the daemon can report their virtual addresses. */
  apps: z.array(fqdn).max(10_000),
});
export const ConfigureResult = z.object({
  /** True when the change needed VNet to restart (range, IPv6, MTU or zones changed while up). */
  restarted: z.boolean(),
});

export const BastionStateSchema = z.object({
  name,
  state: z.enum(['idle', 'connecting', 'connected', 'error']),
  since: z.number(),
  reason: z.string().max(2048).optional(),
  policy: z.enum(['session', 'connection']),
  touches: z.number().int(),
  sessions: z.number().int(),
});

export const VNetStatus = z.object({
  state: z.enum(['down', 'starting', 'up', 'stopping', 'error']),
  /** Why the state is 'error' or why VNet went down unexpectedly. */
  error: z.string().max(2048).nullable(),
  since: z.number(),
  tun: z.string().nullable(),
  mtu: z.number().int().nullable(),
  ipv4Range: z.string().nullable(),
  ipv6Range: z.string().nullable(),
  dns: z.array(z.string()),
  resolver: z.string().nullable(),
  zones: z.array(fqdn),
  /** Virtual addresses of the configured apps (while up). */
  apps: z.record(z.string(), z.object({ v4: z.string(), v6: z.string().nullable() })),
  connections: z.number().int(),
  bastions: z.array(BastionStateSchema),
});

export const ConnectionInfo = z.object({
  id: z.number().int(),
  fqdn,
  port,
  /** Milliseconds since the epoch when the connection was handed to the client. */
  openedAt: z.number(),
  /** Bytes so far: live for open connections (asked from the engine at each list). */
  bytesUp: z.number(),
  bytesDown: z.number(),
  via: z.string(),
  /** The local process holding the client side, where the OS tells (looked up when listed). */
  process: z.object({ pid: z.number().int().positive(), name: z.string().max(256).optional() }).optional(),
});
export const ConnectionsResult = z.object({ connections: z.array(ConnectionInfo) });

export const ResolveParams = z.object({ fqdn });
/** An app as the daemon needs it (systemext/vnet/resolver.ts AppInfo). */
export const AppSpec = z.object({
  fqdn,
  target: z.object({ host: z.string().min(1).max(253), port: port.optional() }),
  allowedPorts: z.array(PortRangeSchema).max(1024),
  via: name,
});
export const ResolveResult = z.object({ app: AppSpec.nullable() });

export const BastionParams = z.object({ name });
export const BastionSpecSchema = z.object({
  name,
  host: z.string().min(1).max(253),
  port,
  user: z.string().min(1).max(256),
  hostKeys: z.array(z.string().max(16_384)).max(64),
  publicKey: z.string().max(16_384),
  policy: z.enum(['session', 'connection']),
  keepaliveSec: z.number().int().min(0),
  maxSessionAgeSec: z.number().int().min(0),
  jump: name.nullable(),
});
export const BastionResult = z.object({ bastion: BastionSpecSchema.nullable() });

export const SignPurposeSchema = z.object({
  bastion: name,
  host: z.string().max(253),
  user: z.string().max(256),
});
export const SignParams = z.object({
  /** The public key line of the key to sign with ("sk-ecdsa-sha2-nistp256@openssh.com AAAA..."). */
  publicKey: z.string().max(16_384),
  /** The data to sign (the SSH userauth blob), base64. */
  data: b64,
  purpose: SignPurposeSchema,
});
export const SignResult = z.object({ signature: b64 });

export const DisconnectParams = z.object({ name });
export const Empty = z.object({}).strict();

/** What the daemon tells the agent as it happens (for notifications, the menu and the status window). */
export const VNetEvent = z.discriminatedUnion('type', [
  z.object({ type: z.literal('vnet-state'), status: VNetStatus }),
  z.object({
    type: z.literal('connection-opened'),
    id: z.number().int(),
    fqdn,
    port,
    via: z.string(),
    at: z.number(),
  }),
  z.object({
    type: z.literal('connection-closed'),
    id: z.number().int(),
    fqdn,
    port,
    bytesUp: z.number(),
    bytesDown: z.number(),
    at: z.number(),
  }),
  z.object({
    type: z.literal('refused'),
    fqdn,
    port,
    code: z.string().max(64),
    reason: z.string().max(2048),
    at: z.number(),
  }),
  z.object({ type: z.literal('dns-miss'), fqdn, at: z.number() }),
  z.object({ type: z.literal('bastion-state'), bastion: BastionStateSchema }),
  z.object({
    type: z.literal('error'),
    message: z.string().max(4096),
    fqdn: fqdn.optional(),
    port: port.optional(),
    code: z.string().max(64).optional(),
    at: z.number(),
  }),
]);

export type HelloParams = z.infer<typeof HelloParams>;
export type HelloResult = z.infer<typeof HelloResult>;
export type VNetConfig = z.infer<typeof VNetConfig>;
export type ConfigureResult = z.infer<typeof ConfigureResult>;
export type VNetStatus = z.infer<typeof VNetStatus>;
export type BastionStateInfo = z.infer<typeof BastionStateSchema>;
export type ConnectionInfo = z.infer<typeof ConnectionInfo>;
export type AppSpec = z.infer<typeof AppSpec>;
export type BastionSpecInfo = z.infer<typeof BastionSpecSchema>;
export type SignPurposeInfo = z.infer<typeof SignPurposeSchema>;
export type SignParams = z.infer<typeof SignParams>;
export type VNetEvent = z.infer<typeof VNetEvent>;

/**
 * Every request method with its params and result schema. One table, so a handler and a caller
 * cannot disagree on a name or a shape.
 */
export const Requests = {
  hello: { params: HelloParams, result: HelloResult },
  ping: { params: Empty, result: Empty },
  'vnet/configure': { params: VNetConfig, result: ConfigureResult },
  'vnet/up': { params: Empty, result: VNetStatus },
  'vnet/down': { params: Empty, result: VNetStatus },
  'vnet/status': { params: Empty, result: VNetStatus },
  'vnet/connections': { params: Empty, result: ConnectionsResult },
  'bastion/disconnect': { params: DisconnectParams, result: Empty },
  'app/resolve': { params: ResolveParams, result: ResolveResult },
  'bastion/get': { params: BastionParams, result: BastionResult },
  'key/sign': { params: SignParams, result: SignResult },
  ...ControlRequests,
} as const;
export type RequestMethod = keyof typeof Requests;
export type ParamsOf<M extends RequestMethod> = z.infer<(typeof Requests)[M]['params']>;
export type ResultOf<M extends RequestMethod> = z.infer<(typeof Requests)[M]['result']>;

export const Notifications = { event: VNetEvent, ...ControlNotifications } as const;
export type NotificationMethod = keyof typeof Notifications;

/**
 * JSON-RPC error codes of ours (the -32000 server range), with a machine-readable reason in `data`.
 * The agent shows the message; the code decides what the UI does.
 */
export const ErrorCodes = {
  /** hello: protocol versions differ. */
  VersionMismatch: -32001,
  /** hello: another agent of the user is connected. */
  AgentAlreadyConnected: -32002,
  /** Any request before hello, or a request the peer's role may not make. */
  NotAllowed: -32003,
  /** Too many requests in flight from this peer. */
  Busy: -32004,
  /** The operation was cancelled (by the peer, by the user at the prompt, or by a deadline). */
  Cancelled: -32005,
  /** A request failed; data.reason says why (e.g. 'user-denied', 'no-key', 'vnet-start'). */
  Failed: -32006,
} as const;
