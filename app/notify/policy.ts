// What to tell the user in a notification, and when to stay quiet. Pure apart from the clock it is
// given: the agent's state changes, daemon events and the prompt queue go in, notifications come out.
// Senders (sender.linux.ts, sender.darwin.ts) only deliver them.
import type { AgentState, VNetEvent } from '../agent/state';
import type { QueuedPrompt } from '../ui/prompt-queue';

export type NotificationKind =
  'touch' | 'insert' | 'vnet-stopped' | 'refused' | 'dns-miss' | 'host-key' | 'pin-blocked';

export interface Notification {
  kind: NotificationKind;
  /** Identifies what it is about: a later `withdraw` with the same key takes it down. */
  key: string;
  title: string;
  body: string;
  /** Needs the user now (touch): shown until withdrawn rather than timing out. */
  urgent: boolean;
}

export type NotifyDecision = { show: Notification } | { withdraw: string };

/** Error codes the agent puts on 'error' events (and FidoError codes) that get a notification. */
export const HOST_KEY_CODES = ['host-key-unknown', 'host-key-changed', 'host-key-mismatch'];
export const PIN_BLOCKED_CODES = ['pin-blocked', 'pin-auth-blocked'];

export interface PolicyLimits {
  /** The same refused app:port is reported at most once in this window. */
  refusedEveryMs: number;
  /** DNS misses: each name once per run, and at most `dnsMissBurst` names per `dnsMissWindowMs`. */
  dnsMissWindowMs: number;
  dnsMissBurst: number;
  /** The same host-key problem of a bastion at most once in this window. */
  hostKeyEveryMs: number;
  /** Bounds on what the policy remembers (names, keys), oldest forgotten first. */
  memory: number;
}

export const DEFAULT_LIMITS: PolicyLimits = {
  refusedEveryMs: 60_000,
  dnsMissWindowMs: 60_000,
  dnsMissBurst: 3,
  hostKeyEveryMs: 10 * 60_000,
  memory: 1000,
};

export class NotificationPolicy {
  private readonly lastShown = new Map<string, number>();
  private readonly dnsNamesSeen = new Set<string>();
  private dnsMissTimes: number[] = [];
  /** The touch and insert notifications out, by `kind:id`. */
  private touchShown = new Set<string>();

  constructor(
    private readonly now: () => number = Date.now,
    private readonly limits: PolicyLimits = DEFAULT_LIMITS,
  ) {}

  /**
   * The prompt queue changed: a touch prompt, and an "insert your key" one, gets a notification
   * exactly while it waits.
   */
  onPrompts(queue: readonly QueuedPrompt[]): NotifyDecision[] {
    const out: NotifyDecision[] = [];
    const keyOf = (p: QueuedPrompt): string => `${p.kind}:${p.id}`;
    const touches = queue.filter((p) => p.kind === 'touch' || p.kind === 'insert');
    const live = new Set(touches.map(keyOf));
    for (const key of this.touchShown) {
      if (!live.has(key)) {
        this.touchShown.delete(key);
        out.push({ withdraw: key });
      }
    }
    for (const p of touches) {
      if (this.touchShown.has(keyOf(p))) continue;
      this.touchShown.add(keyOf(p));
      out.push({
        show: {
          kind: p.kind === 'insert' ? 'insert' : 'touch',
          key: keyOf(p),
          title: p.title,
          body: p.detail,
          urgent: true,
        },
      });
    }
    return out;
  }

  /** A new agent state: did VNet stop without the user asking? */
  onState(prev: AgentState | null, next: AgentState): NotifyDecision[] {
    if (prev === null || !prev.wantUp || !next.wantUp) return [];
    if (prev.daemon === 'connected' && next.daemon !== 'connected') {
      return [
        this.show('vnet-stopped', 'vnet-stopped', 'VNet stopped unexpectedly', [
          'The KeyVNet service went away; reconnecting…',
          next.daemonError,
        ]),
      ];
    }
    const was = prev.vnet?.state;
    const is = next.vnet?.state;
    if (was === 'up' && (is === 'down' || is === 'error') && next.daemon === 'connected') {
      return [
        this.show('vnet-stopped', 'vnet-stopped', 'VNet stopped unexpectedly', [
          next.vnet?.error ?? 'VNet went down.',
        ]),
      ];
    }
    return [];
  }

  /** A daemon event (or an agent error routed the same way). */
  onEvent(e: VNetEvent): NotifyDecision[] {
    const now = this.now();
    switch (e.type) {
      case 'refused': {
        if (e.code !== 'port-not-allowed' && !/not allowed/i.test(e.reason)) return [];
        const key = `refused:${e.fqdn}:${e.port}`;
        if (!this.due(key, now, this.limits.refusedEveryMs)) return [];
        return [this.show('refused', key, 'Connection refused', [`${e.fqdn}: ${e.reason}`])];
      }
      case 'dns-miss': {
        const name = e.fqdn.toLowerCase().replace(/\.$/, '');
        if (this.dnsNamesSeen.has(name)) return [];
        this.dnsMissTimes = this.dnsMissTimes.filter((t) => now - t < this.limits.dnsMissWindowMs);
        if (this.dnsMissTimes.length >= this.limits.dnsMissBurst) return [];
        this.remember(this.dnsNamesSeen, name);
        this.dnsMissTimes.push(now);
        return [
          this.show('dns-miss', `dns-miss:${name}`, 'No such app', [
            `${name} is in a VNet zone, but no app of your config has this name.`,
          ]),
        ];
      }
      case 'bastion-state': {
        const reason = e.bastion.reason ?? '';
        if (e.bastion.state !== 'error' || !/host key/i.test(reason)) return [];
        return this.hostKey(e.bastion.name, reason, now);
      }
      case 'error': {
        if (e.code !== undefined && PIN_BLOCKED_CODES.includes(e.code))
          return [this.pinBlocked(e.code, e.message)];
        if ((e.code !== undefined && HOST_KEY_CODES.includes(e.code)) || /host key/i.test(e.message)) {
          return this.hostKey(e.fqdn ?? 'bastion', e.message, now);
        }
        return [];
      }
      default:
        return [];
    }
  }

  /** The security-key layer reports a blocked PIN (FidoError 'pin-blocked' / 'pin-auth-blocked'). */
  pinBlocked(code: string, keyLabel: string): NotifyDecision {
    const body =
      code === 'pin-auth-blocked'
        ? `${keyLabel}: too many wrong PINs in a row. Remove the key and insert it again to retry.`
        : `${keyLabel}: no PIN attempts are left. The key must be reset before it can be used again.`;
    return this.show('pin-blocked', `pin-blocked:${code}`, 'Security key PIN blocked', [body]);
  }

  private hostKey(bastion: string, reason: string, now: number): NotifyDecision[] {
    const key = `host-key:${bastion}:${reason}`;
    if (!this.due(key, now, this.limits.hostKeyEveryMs)) return [];
    const changed = /changed|mismatch|does not match/i.test(reason);
    return [
      this.show('host-key', key, changed ? `Host key changed: ${bastion}` : `Unknown host key: ${bastion}`, [
        reason,
        changed
          ? 'The connection was refused. If the bastion was not re-installed, someone may be in the middle.'
          : 'The connection was refused. Add the key to known_hosts or the config after checking it.',
      ]),
    ];
  }

  private show(
    kind: NotificationKind,
    key: string,
    title: string,
    lines: Array<string | null>,
  ): NotifyDecision {
    const body = lines.filter((l): l is string => l !== null && l !== '').join('\n');
    return { show: { kind, key, title, body, urgent: false } };
  }

  /** True (and remembered) when `key` was not shown within `every` ms. */
  private due(key: string, now: number, every: number): boolean {
    const last = this.lastShown.get(key);
    if (last !== undefined && now - last < every) return false;
    this.lastShown.delete(key); // re-insert: Map order is the age order `remember` trims by
    this.lastShown.set(key, now);
    while (this.lastShown.size > this.limits.memory) {
      this.lastShown.delete(this.lastShown.keys().next().value as string);
    }
    return true;
  }

  private remember(set: Set<string>, value: string): void {
    set.add(value);
    while (set.size > this.limits.memory) set.delete(set.values().next().value as string);
  }
}
