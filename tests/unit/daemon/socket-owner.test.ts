// The client process of a VNet connection: the pure parsers of /proc/net/tcp{,6} and of macOS's
// `lsof -F pcn` (a fixture), the Linux lookup for real on a loopback connection of this process,
// and the controller asking once per connection, never again, and forgetting with the connection.
import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { createServer, connect, type AddressInfo, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { parseLsofTcp, parseProcNetTcp, socketInode } from '../../../systemext/procinfo/socket-owner-parse';
import { endsKey, socketOwnerFinder } from '../../../systemext/procinfo/socket-owner';
import { lsofArgs } from '../../../systemext/procinfo/socket-owner.darwin';

const PROC_NET_TCP = `  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000:07E8 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 584 1 0000000000000000 100 0 0 10 0
   1: 1400A8C0:CDD0 220C4064:0050 01 00000000:00000000 00:00000000 00000000     0        0 77812 1 0000000000000000 20 4 30 10 -1
garbage line
`;
const PROC_NET_TCP6 = `  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 563412FD00009A78000000000500000:C351 563412FD00009A7800000000220C4000:0016 01 00000000:00000000 00:00000000 00000000     0        0 99001 1 0000000000000000 20 4 30 10 -1
   1: 563412FD00009A780000000005000000:C351 563412FD00009A7800000000220C4000:0016 01 00000000:00000000 00:00000000 00000000     0        0 99002 1 0000000000000000 20 4 30 10 -1
`;

describe('client process of a connection: parsers', () => {
  it('/proc/net/tcp: both ends (host-order words), the state and the inode; bad lines skipped', () => {
    expect(parseProcNetTcp(PROC_NET_TCP)).to.deep.equal([
      {
        local: { address: '0.0.0.0', port: 2024 },
        remote: { address: '0.0.0.0', port: 0 },
        state: 10,
        inode: 584,
      },
      {
        local: { address: '192.168.0.20', port: 52688 },
        remote: { address: '100.64.12.34', port: 80 },
        state: 1,
        inode: 77812,
      },
    ]);
    // A big-endian host prints the bytes in order.
    expect(
      parseProcNetTcp('   1: C0A80014:CDD0 64400C22:0050 01 0:0 0:0 0 0 0 5 1', false)[0].local.address,
    ).to.equal('192.168.0.20');
  });

  it('/proc/net/tcp6: 16-byte addresses word by word (a 31-digit address is no address)', () => {
    const [s] = parseProcNetTcp(PROC_NET_TCP6);
    expect(parseProcNetTcp(PROC_NET_TCP6)).to.have.length(1);
    expect(s.inode).to.equal(99002);
    expect(endsKey(s)).to.equal(
      endsKey({
        local: { address: 'fd12:3456:789a::5', port: 50001 },
        remote: { address: 'fd12:3456:789a::40:c22', port: 22 },
      }),
    );
  });

  it('fd links: socket:[inode] only', () => {
    expect(socketInode('socket:[77812]')).to.equal(77812);
    expect(socketInode('pipe:[77812]')).to.equal(null);
    expect(socketInode('/dev/null')).to.equal(null);
  });

  it('lsof -F pcn (macOS): pid, full command name, both ends; listeners skipped', () => {
    const out = parseLsofTcp(readFileSync(join(__dirname, 'fixtures', 'lsof-tcp.txt'), 'utf8'));
    expect(
      out.map((s) => [s.pid, s.command, `${s.local.address}:${s.local.port}`, s.remote.port]),
    ).to.deep.equal([
      [812, 'Google Chrome Helper', '192.168.1.20:52144', 443],
      [812, 'Google Chrome Helper', '192.168.1.20:52150', 443],
      [4051, 'curl', '192.168.1.20:61002', 80],
      [4077, 'ssh', 'fd12:3456:789a::5:50001', 22],
    ]);
  });

  it('lsof is asked for each app address:port once (IPv6 in brackets), full command names', () => {
    const ends = (a: string, p: number, lp: number) => ({
      local: { address: '10.0.0.5', port: lp },
      remote: { address: a, port: p },
    });
    expect(
      lsofArgs([ends('100.64.0.2', 80, 1), ends('100.64.0.2', 80, 2), ends('fd00::2', 22, 3)]),
    ).to.deep.equal(['-nP', '+c', '0', '-F', 'pcn', '-iTCP@100.64.0.2:80', '-iTCP@[fd00::2]:22']);
  });

  it('one endpoint however it is spelled (IPv4-mapped, zeros, case)', () => {
    const a = { local: { address: '::ffff:10.0.0.5', port: 1 }, remote: { address: 'FD00:0::2', port: 2 } };
    const b = { local: { address: '10.0.0.5', port: 1 }, remote: { address: 'fd00::2', port: 2 } };
    expect(endsKey(a)).to.equal(endsKey(b));
  });
});

describe('client process of a connection: the Linux lookup, for real', function () {
  let server: Server;
  let client: Socket;
  before(async function () {
    if (process.platform !== 'linux') this.skip(); // the /proc lookup is Linux's
    server = createServer(() => undefined);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    client = connect((server.address() as AddressInfo).port, '127.0.0.1');
    await new Promise<void>((r) => client.once('connect', () => r()));
  });
  after(() => {
    client?.destroy();
    server?.close();
  });

  it('finds this process (pid and comm) by the client socket’s two ends; unknown ends get null', async () => {
    const find = socketOwnerFinder('linux');
    const ends = {
      local: { address: client.localAddress!, port: client.localPort! },
      remote: { address: '127.0.0.1', port: client.remotePort! },
    };
    const nobody = { local: { address: '127.0.0.1', port: 1 }, remote: { address: '127.0.0.1', port: 2 } };
    const [owner, none] = await find([ends, nobody]);
    expect(owner).to.deep.equal({ pid: process.pid, name: readFileSync('/proc/self/comm', 'utf8').trim() });
    expect(none).to.equal(null);
  });
});
