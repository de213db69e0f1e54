// The reader's slow-path classes: which packets are priority, and the budget of the others.
import { expect } from 'chai';
import { ipToBytes } from '../../../systemext/net/addr';
import { buildTcp, buildUdp } from '../../../systemext/net/build';
import { TCP_ACK, TCP_SYN } from '../../../systemext/net/packet';
import { isPriority, SlowPathBudget } from '../../../systemext/tun/priority';

describe('tun/priority', () => {
  const a = ipToBytes('100.64.0.1');
  const b = ipToBytes('100.64.0.9');

  it('SYNs and DNS are priority; other TCP and UDP are not', () => {
    expect(isPriority(buildTcp({ src: a, dst: b, sport: 1, dport: 80, seq: 1, flags: TCP_SYN }))).to.equal(
      true,
    );
    expect(
      isPriority(buildTcp({ src: a, dst: b, sport: 1, dport: 80, seq: 1, flags: TCP_SYN | TCP_ACK })),
    ).to.equal(false);
    expect(isPriority(buildUdp({ src: a, dst: b, sport: 1, dport: 53, payload: Buffer.from('q') }))).to.equal(
      true,
    );
    expect(
      isPriority(buildUdp({ src: a, dst: b, sport: 1, dport: 9999, payload: Buffer.alloc(100) })),
    ).to.equal(false);
  });

  it('the budget passes a burst, then its rate, on an injected clock', () => {
    const budget = new SlowPathBudget(2000, 256);
    let now = 1_000_000;
    let passed = 0;
    for (let i = 0; i < 10_000; i++) if (budget.take(now)) passed++;
    expect(passed).to.equal(256);
    now += 10; // 10 ms: 20 more
    passed = 0;
    for (let i = 0; i < 10_000; i++) if (budget.take(now)) passed++;
    expect(passed).to.equal(20);
    now += 60_000; // refills to the burst, not beyond
    passed = 0;
    for (let i = 0; i < 10_000; i++) if (budget.take(now)) passed++;
    expect(passed).to.equal(256);
  });
});
