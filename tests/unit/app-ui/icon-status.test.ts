import { expect } from 'chai';
import { iconState } from '../../../app/ui/icon-state';
import type { QueuedPrompt } from '../../../app/ui/prompt-queue';
import { buildStatus, processText } from '../../../app/ui/status-model';
import {
  baseState,
  connectingState,
  errorState,
  offState,
  onState,
  vnetStatus,
} from '../../integration/fixtures/app/agent-states';

const NOW = Date.UTC(2026, 11, 2, 14, 30);
const pin: QueuedPrompt = {
  id: 3,
  kind: 'pin',
  keyLabel: 'k',
  title: 't',
  detail: 'd',
  what: 'w',
  bastion: null,
  since: NOW,
};

describe('tray icon state', () => {
  it('off, connecting, on, error, needs touch', () => {
    expect(iconState(offState(), [])).to.equal('off');
    expect(iconState(connectingState(NOW), [])).to.equal('connecting');
    expect(iconState(onState(NOW), [])).to.equal('on');
    expect(iconState(errorState(NOW), [])).to.equal('error');
    expect(iconState(onState(NOW), [pin])).to.equal('needs-touch');
    expect(iconState(offState(), [pin])).to.equal('needs-touch'); // a prompt always wins
  });

  it('wanting VNet while the service is away is an error; reconnecting is connecting', () => {
    const s = { ...baseState(), wantUp: true };
    expect(iconState({ ...s, daemon: 'unavailable', daemonError: 'x' }, [])).to.equal('error');
    expect(iconState({ ...s, daemon: 'connecting' }, [])).to.equal('connecting');
    expect(iconState({ ...s, vnet: vnetStatus('down', NOW) }, [])).to.equal('connecting');
    // Not wanted: the service being away is no error of the user's.
    expect(iconState({ ...baseState(), daemon: 'unavailable', daemonError: 'x' }, [])).to.equal('off');
  });

  it('a bastion in error while up shows error', () => {
    const s = onState(NOW);
    s.bastions[0] = { ...s.bastions[0], state: 'error', reason: 'connection refused' };
    expect(iconState(s, [])).to.equal('error');
  });
});

describe('status window model', () => {
  it('on: apps with addresses, live then recently closed connections with bytes and age, bastions', () => {
    const m = buildStatus(onState(NOW), [], NOW);
    expect(m.tone).to.equal('ok');
    expect(m.summary).to.equal('100.64.0.0/10 · fd6b:7665:7400::/64 · keyvnet0');
    expect(m.apps[0]).to.deep.equal({
      name: 'grafana.corp.example.com',
      address: '100.64.0.2',
      via: 'corp',
      ports: '443',
    });
    expect(m.apps[3].ports).to.equal('all');
    expect(m.connections).to.deep.equal([
      {
        app: 'grafana.corp.example.com',
        port: '443',
        process: 'Google Chrome Helper (812)',
        up: '18 KB',
        down: '2.4 MB',
        age: '1 min',
      },
      {
        app: 'db.corp.example.com',
        port: '5432',
        process: 'psql (4051)',
        up: '412 KB',
        down: '9.8 MB',
        age: '14 min',
      },
      {
        app: 'wiki.corp.example.com',
        port: '80',
        process: '—',
        up: '900 B',
        down: '48 KB',
        age: 'closed 3 min ago',
      },
    ]);
    expect(processText({ pid: 9 })).to.equal('pid 9');
    expect(processText({ pid: 9, name: 'a\u202eb' })).to.equal('a\uFFFDb (9)');
    expect(m.bastions[0]).to.deep.include({ name: 'corp', age: '16 min', touches: '1', policy: 'session' });
    expect(m.bastions[1]).to.deep.include({
      name: 'lab',
      state: 'not connected',
      age: '—',
      policy: 'connection',
    });
  });

  it('off: no addresses; error: the reasons, newest first', () => {
    expect(buildStatus(offState(), [], NOW).apps.every((a) => a.address === '—')).to.equal(true);
    expect(buildStatus(offState(), [], NOW).tone).to.equal('off');
    const e = buildStatus(errorState(NOW), [], NOW);
    expect(e.tone).to.equal('bad');
    expect(e.status.detail).to.equal('the tun device keyvnet0 disappeared');
    expect(e.errors.map((x) => x.message)).to.deep.equal([
      'lab: host key changed for jump.lab.example.net',
      'db.corp.example.com: port 22 is not allowed for db.corp.example.com',
    ]);
    expect(e.errors[0].when).to.match(/^\d\d:\d\d \(1 min ago\)$/);
  });
});
