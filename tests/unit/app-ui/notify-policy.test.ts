import { expect } from 'chai';
import { NotificationPolicy, type NotifyDecision } from '../../../app/notify/policy';
import type { QueuedPrompt } from '../../../app/ui/prompt-queue';
import { baseState, onState, vnetStatus } from '../../integration/fixtures/app/agent-states';

function clock(start = 1_000_000) {
  let t = start;
  return { now: () => t, advance: (ms: number) => (t += ms) };
}
const titles = (d: NotifyDecision[]) => d.map((x) => ('show' in x ? x.show.title : `withdraw ${x.withdraw}`));

describe('notification policy', () => {
  it('touch: shown while the prompt waits, withdrawn when it goes', () => {
    const p = new NotificationPolicy();
    const touch: QueuedPrompt = {
      id: 4,
      kind: 'touch',
      keyLabel: 'YubiKey 5',
      title: 'Touch your security key to connect to corp (bastion.corp.example.com)',
      detail: 'Security key: YubiKey 5',
      what: 'Connect to corp (bastion.corp.example.com)',
      bastion: 'corp',
      since: 0,
    };
    const shown = p.onPrompts([touch]);
    expect(shown).to.deep.equal([
      {
        show: {
          kind: 'touch',
          key: 'touch:4',
          title: 'Touch your security key to connect to corp (bastion.corp.example.com)',
          body: 'Security key: YubiKey 5',
          urgent: true,
        },
      },
    ]);
    expect(p.onPrompts([touch])).to.deep.equal([]); // no repeat while it waits
    expect(p.onPrompts([{ ...touch, id: 5, kind: 'pin' }])).to.deep.equal([{ withdraw: 'touch:4' }]);
  });

  it('insert your key: shown while the request waits for a key, withdrawn when it goes', () => {
    const p = new NotificationPolicy();
    const insert: QueuedPrompt = {
      id: 7,
      kind: 'insert',
      keyLabel: '',
      title: 'Insert your security key to connect to corp (bastion.corp.example.com)',
      detail: 'Asked by KeyVNet for the virtual network',
      what: 'Connect to corp (bastion.corp.example.com)',
      bastion: 'corp',
      since: 0,
    };
    expect(p.onPrompts([insert])).to.deep.equal([
      {
        show: {
          kind: 'insert',
          key: 'insert:7',
          title: 'Insert your security key to connect to corp (bastion.corp.example.com)',
          body: 'Asked by KeyVNet for the virtual network',
          urgent: true,
        },
      },
    ]);
    expect(p.onPrompts([insert])).to.deep.equal([]);
    // The key is in: its touch prompt follows (a new request id from the queue).
    const touch: QueuedPrompt = { ...insert, id: 8, kind: 'touch', title: 'Touch your security key' };
    expect(titles(p.onPrompts([touch]))).to.deep.equal(['withdraw insert:7', 'Touch your security key']);
  });

  it('VNet stopped unexpectedly: the service went away, or VNet fell while wanted', () => {
    const p = new NotificationPolicy();
    const now = 0;
    const up = onState(now);
    const gone = { ...up, daemon: 'connecting' as const, daemonError: 'socket closed', vnet: null };
    const d = p.onState(up, gone);
    expect(titles(d)).to.deep.equal(['VNet stopped unexpectedly']);
    expect('show' in d[0] && d[0].show.body).to.equal(
      'The KeyVNet service went away; reconnecting…\nsocket closed',
    );
    const fell = { ...up, vnet: vnetStatus('error', now, { error: 'tun gone' }) };
    expect(titles(p.onState(up, fell))).to.deep.equal(['VNet stopped unexpectedly']);
    // Turned off by the user: silence.
    expect(p.onState(up, { ...up, wantUp: false, vnet: vnetStatus('down', now) })).to.deep.equal([]);
    expect(p.onState({ ...up, wantUp: false }, { ...gone, wantUp: false })).to.deep.equal([]);
    expect(p.onState(null, gone)).to.deep.equal([]);
    expect(p.onState(baseState(), baseState())).to.deep.equal([]);
  });

  it('refused on a disallowed port: once per app:port a minute; other refusals are quiet', () => {
    const c = clock();
    const p = new NotificationPolicy(c.now);
    const ev = {
      type: 'refused' as const,
      fqdn: 'db.corp.example.com',
      port: 22,
      code: 'refused',
      reason: 'port 22 is not allowed for db.corp.example.com',
      at: 0,
    };
    expect(titles(p.onEvent(ev))).to.deep.equal(['Connection refused']);
    expect(p.onEvent(ev)).to.deep.equal([]);
    expect(titles(p.onEvent({ ...ev, port: 23, reason: 'port 23 is not allowed' }))).to.have.length(1);
    c.advance(60_000);
    expect(titles(p.onEvent(ev))).to.have.length(1);
    expect(p.onEvent({ ...ev, reason: 'too many connections (NAT table full)' })).to.deep.equal([]);
  });

  it('DNS names that are no app: each name once, at most 3 a minute', () => {
    const c = clock();
    const p = new NotificationPolicy(c.now);
    const miss = (fqdn: string) => p.onEvent({ type: 'dns-miss', fqdn, at: 0 });
    expect(titles(miss('a.corp.example.com'))).to.deep.equal(['No such app']);
    expect(miss('A.corp.example.com.')).to.deep.equal([]); // same name
    expect(titles(miss('b.corp.example.com'))).to.have.length(1);
    expect(titles(miss('c.corp.example.com'))).to.have.length(1);
    expect(miss('d.corp.example.com')).to.deep.equal([]); // burst used up
    c.advance(60_000);
    expect(titles(miss('e.corp.example.com'))).to.have.length(1);
    expect(miss('a.corp.example.com')).to.deep.equal([]); // still once per name
  });

  it('host key unknown or changed, from bastion states and error events, not repeated', () => {
    const p = new NotificationPolicy();
    const bastion = {
      name: 'lab',
      state: 'error' as const,
      since: 0,
      reason: 'host key changed for jump.lab.example.net',
      policy: 'connection' as const,
      touches: 0,
      sessions: 0,
    };
    expect(titles(p.onEvent({ type: 'bastion-state', bastion }))).to.deep.equal(['Host key changed: lab']);
    expect(p.onEvent({ type: 'bastion-state', bastion })).to.deep.equal([]);
    expect(
      p.onEvent({ type: 'bastion-state', bastion: { ...bastion, reason: 'connection refused' } }),
    ).to.deep.equal([]);
    expect(
      titles(
        p.onEvent({
          type: 'error',
          code: 'host-key-unknown',
          fqdn: 'corp',
          message: 'no known host key',
          at: 0,
        }),
      ),
    ).to.deep.equal(['Unknown host key: corp']);
  });

  it('PIN blocked says what to do', () => {
    const p = new NotificationPolicy();
    const d = p.onEvent({ type: 'error', code: 'pin-blocked', message: 'YubiKey 5', at: 0 });
    expect(titles(d)).to.deep.equal(['Security key PIN blocked']);
    expect('show' in d[0] && d[0].show.body).to.include('must be reset');
    const auth = p.pinBlocked('pin-auth-blocked', 'YubiKey 5');
    expect('show' in auth && auth.show.body).to.include('Remove the key and insert it again');
    expect(p.onEvent({ type: 'error', message: 'dial failed', at: 0 })).to.deep.equal([]);
  });
});
