// Demo: run as root INSIDE a network namespace. Opens a tun named kvn0 (real, through
// native-bindings), gives it an address, answers ping for the rest of its /24 from the reader
// thread's fast path, prints `ip addr show kvn0`, and runs until Ctrl-C / SIGTERM.
//   ip netns add demo && ip netns exec demo node --import tsx systemext/tun/demo-tun.ts [10.123.0.1/24]
//   ip netns exec demo ping -c 3 10.123.0.2
// It refuses to run outside a named namespace (`ip netns identify` must name one), so it can never add a
// tun or routes to the host's main namespace.
import { execFileSync } from 'node:child_process';
import { openTun } from './open';

/**
 * The name of the network namespace we run in, as `ip netns exec` sets it up, or '' when we are not
 * in a named one (e.g. the host's main namespace). Fails closed: any doubt counts as "not named".
 */
function namedNamespace(): string {
  try {
    return execFileSync('ip', ['netns', 'identify', String(process.pid)], { stdio: 'pipe' })
      .toString()
      .trim();
  } catch {
    return '';
  }
}

async function main(): Promise<void> {
  const addr = process.argv[2] ?? '10.123.0.1/24';
  if (process.platform !== 'linux')
    throw new Error('this demo drives a Linux tun inside a network namespace');
  // Checked before anything is created: this must never add a tun or a route to the host's namespace.
  if (namedNamespace() === '') {
    throw new Error('refusing to run outside a named network namespace; run it under `ip netns exec <ns>`');
  }
  const tun = await openTun({
    name: 'kvn0',
    mtu: 1400,
    setInterfaceMtu: true,
    fastPath: { module: require.resolve('./echo-fast-path'), init: { icmp: true } },
  });
  execFileSync('ip', ['addr', 'add', addr, 'dev', tun.name]);
  execFileSync('ip', ['link', 'set', tun.name, 'up']);
  console.log(execFileSync('ip', ['addr', 'show', tun.name]).toString().trimEnd());
  console.log(
    `${tun.name} is up; pinging any other address of ${addr} is answered from the tun. Ctrl-C to stop.`,
  );

  let passed = 0;
  const loop = (async () => {
    for (;;) {
      const pkts = await tun.read();
      if (pkts.length === 0) return;
      passed += pkts.length; // not answered here: the demo only echoes through the fast path
    }
  })();
  const stop = async () => {
    await tun.close();
    await loop;
    const s = tun.stats();
    console.log(
      `closed ${tun.name}: ${s.fastPathReplies} echo replies from the fast path, ${passed} other packets seen`,
    );
    process.exit(0);
  };
  process.once('SIGINT', () => void stop());
  process.once('SIGTERM', () => void stop());
}

main().catch((err) => {
  console.error(`demo-tun: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
