import { expect } from 'chai';
import { join } from 'node:path';
import { ConfigError, loadConfig, type ConfigProblem } from '../../../app/config';
import { HOST_KEY, tempHome, toml, type TempHome } from './fixture';

/** Line 1-4: a valid bastion every test can refer to. */
const BASTION = toml`
  [[bastion]]
  name = "corp"
  host = "bastion.corp.example.com"
  key = "~/.ssh/id_ed25519_sk"
`;

describe('config: loadConfig', () => {
  let t: TempHome;
  beforeEach(() => (t = tempHome()));
  afterEach(() => t.remove());

  const load = (text: string) => loadConfig(t.write(text), { home: t.home, username: 'alice' });
  /** The problems a config has (it must fail). */
  const problems = (text: string): ConfigProblem[] => {
    try {
      load(text);
    } catch (err) {
      expect(err).to.be.instanceOf(ConfigError);
      return (err as ConfigError).problems;
    }
    throw new Error('expected a ConfigError');
  };
  /** The single problem, as [line, field, message]. */
  const only = (text: string): [number, string, string] => {
    const ps = problems(text);
    expect(ps, JSON.stringify(ps, null, 1)).to.have.length(1);
    return [ps[0].line, ps[0].field, ps[0].message];
  };

  it('loads a full config with defaults filled in and names normalised', () => {
    const c = load(toml`
      ${BASTION}
      [[bastion]]
      name = "inner"
      host = "10.0.0.5"
      port = 2222
      user = "ops"
      key = ".ssh/id_ed25519_sk.pub"
      host_keys = ["${HOST_KEY} root@inner"]
      policy = "connection"
      keepalive = "1m"
      max_session_age = "1h30m"
      jump = "corp"

      [[zone]]
      suffix = ".Corp.Example.COM."
      bastion = "corp"

      [[zone]]
      suffix = "demo.test"
      via = "direct"

      [[app]]
      name = "Grafana.corp.example.com."
      target = "grafana.internal:3000"
      ports = [80, "8000-8100", "443"]
      description = "Dashboards"

      [[app]]
      name = "db.corp.example.com"
      target = "[FD00::5]:5432"
      bastion = "inner"

      [[app]]
      name = "hello.demo.test"
      target = "127.0.0.1"
    `);
    expect(c.path).to.equal(join(t.home, 'config.toml'));
    expect(c.vnet).to.deep.equal({ range: '100.64.0.0/10', ipv6: true, mtu: null });
    expect(c.bastions[0]).to.deep.equal({
      name: 'corp',
      host: 'bastion.corp.example.com',
      port: 22,
      user: 'alice',
      keyPath: join(t.home, '.ssh/id_ed25519_sk'),
      hostKeys: null,
      knownHostsPath: join(t.home, '.ssh/known_hosts'),
      policy: 'session',
      keepaliveSec: 30,
      maxSessionAgeSec: 8 * 3600,
      jump: null,
    });
    expect(c.bastions[1]).to.deep.include({
      port: 2222,
      user: 'ops',
      keyPath: join(t.home, '.ssh/id_ed25519_sk.pub'), // relative to the config's directory
      hostKeys: [HOST_KEY],
      policy: 'connection',
      keepaliveSec: 60,
      maxSessionAgeSec: 5400,
      jump: 'corp',
    });
    expect(c.zones).to.deep.equal([
      { suffix: 'corp.example.com', via: 'corp' },
      { suffix: 'demo.test', via: 'direct' },
    ]);
    expect(c.apps).to.deep.equal([
      {
        name: 'grafana.corp.example.com',
        target: { host: 'grafana.internal', port: 3000 },
        ports: [80, [8000, 8100], 443],
        via: 'corp',
        description: 'Dashboards',
      },
      {
        name: 'db.corp.example.com',
        target: { host: 'fd00::5', port: 5432 },
        ports: [],
        via: 'inner',
        description: null,
      },
      { name: 'hello.demo.test', target: { host: '127.0.0.1' }, ports: [], via: 'direct', description: null },
    ]);
  });

  it('an empty file is a valid config with nothing in it', () => {
    expect(load('')).to.deep.include({ bastions: [], zones: [], apps: [] });
  });

  it('syntax error: line and column from the TOML parser', () => {
    const ps = problems('[vnet]\nrange = "100.64.0.0/10\nipv6 = true\n');
    expect(ps).to.have.length(1);
    expect(ps[0]).to.deep.include({ line: 2, column: 23, field: '' });
    expect(ps[0].message).to.match(/^TOML syntax error: /);
    expect(new ConfigError(ps).message).to.match(/config\.toml:2:23: TOML syntax error: /);
  });

  it('a missing file is one problem about the file', () => {
    try {
      loadConfig(join(t.home, 'nope.toml'));
      expect.fail('loaded a missing file');
    } catch (err) {
      expect((err as ConfigError).problems).to.deep.equal([
        {
          file: join(t.home, 'nope.toml'),
          line: 0,
          field: '',
          message: 'cannot read the config: no such file',
        },
      ]);
      expect((err as Error).message).to.equal(
        `${join(t.home, 'nope.toml')}: cannot read the config: no such file`,
      );
    }
  });

  it('unknown field: names the closest known field (and OpenSSH spellings)', () => {
    const [line, field, message] = only(toml`
      [vnet]
      rnage = "100.64.0.0/10"
    `);
    expect([line, field]).to.deep.equal([2, 'vnet.rnage']);
    expect(message).to.match(
      /^unknown field; did you mean "range"\? \(known in \[vnet\]: range, ipv6, mtu\)$/,
    );
    expect(only(`${BASTION}ProxyJump = "x"\n`).slice(0, 2)).to.deep.equal([5, 'bastion[0].ProxyJump']);
    expect(only(`${BASTION}IdentityFile = "x"\n`)[2]).to.match(/did you mean "key"/);
    expect(only('[[apps]]\nname = "x"\n')).to.deep.include.members([1, 'apps']);
    expect(only('[[apps]]\nname = "x"\n')[2]).to.match(/did you mean "app"/);
  });

  it('a field above its table header, a reserved or ssh-style value', () => {
    expect(only('range = "10.0.0.0/8"\n[vnet]\n')).to.deep.equal([
      1,
      'range',
      'unknown field at the top level: "range" belongs in a [vnet] table (write it below that header)',
    ]);
    expect(only(BASTION.replace('"corp"', '"direct"'))).to.deep.equal([
      2,
      'bastion[0].name',
      '"direct" is reserved (via = "direct" means no bastion): expected another name',
    ]);
    expect(only(BASTION.replace('"bastion.corp.example.com"', '"alice@b.example.com"'))).to.deep.equal([
      3,
      'bastion[0].host',
      '"alice@b.example.com" has a user in it: expected user = "alice" and host = "b.example.com" apart',
    ]);
    expect(only(BASTION.replace('"bastion.corp.example.com"', '"b.example.com:2222"'))[2]).to.equal(
      '"b.example.com:2222" has a port in it: expected host = "b.example.com" and port = 2222 apart',
    );
  });

  it('wrong type: says what it got and what is expected', () => {
    expect(only('[vnet]\n\nipv6 = "yes"\n')).to.deep.equal([
      3,
      'vnet.ipv6',
      '"yes" is the wrong type: expected true or false',
    ]);
    expect(only(`${BASTION}port = "22"\n`)).to.deep.equal([
      5,
      'bastion[0].port',
      '"22" is the wrong type: expected an integer 1-65535 (default 22)',
    ]);
    expect(only('[bastion]\nname = "x"\n')).to.deep.equal([
      1,
      'bastion',
      'a table is the wrong type: expected an array of tables, each starting with [[bastion]] (write [[bastion]] with double brackets)',
    ]);
  });

  it('missing field: points at the table header', () => {
    expect(only('[[zone]]\nsuffix = "a.test"\nvia = "direct"\n\n[[app]]\nname = "x.a.test"\n')).to.deep.equal(
      [5, 'app[0].target', 'missing: expected "host", "host:port" or "[ipv6]:port"'],
    );
  });

  it('bad CIDR', () => {
    expect(only('[vnet]\nrange = "100.64.0.0"\n')).to.deep.equal([
      2,
      'vnet.range',
      '"100.64.0.0" is not an IPv4 CIDR: expected "address/prefix", e.g. "100.64.0.0/10"',
    ]);
    expect(only('[vnet]\nrange = "100.64.0.1/10"\n')[2]).to.equal(
      '"100.64.0.1/10" has host bits set: expected the network address, "100.64.0.0/10"',
    );
    expect(only('[vnet]\nrange = "300.64.0.0/10"\n')[1]).to.equal('vnet.range');
  });

  it('range outside /8../24', () => {
    expect(only('[vnet]\nrange = "100.64.0.0/25"\n')).to.deep.equal([
      2,
      'vnet.range',
      '"100.64.0.0/25": prefix /25 is outside /8../24: expected e.g. "100.64.0.0/10"',
    ]);
    expect(only('[vnet]\nrange = "10.0.0.0/7"\n')[2]).to.match(/prefix \/7 is outside/);
  });

  it('mtu out of range', () => {
    expect(only('[vnet]\nmtu = 1000\n')).to.deep.equal([
      2,
      'vnet.mtu',
      '1000 is not allowed: expected an integer 1280-65535',
    ]);
  });

  it('overlapping zones: equal, or one a suffix of the other', () => {
    const zones = toml`
      [[zone]]
      suffix = "corp.example.com"
      via = "direct"

      [[zone]]
      suffix = "example.com"
      via = "direct"

      [[zone]]
      suffix = "CORP.example.com"
      via = "direct"

      [[zone]]
      suffix = "ample.com"
      via = "direct"
    `;
    expect(problems(zones).map((p) => [p.line, p.field, p.message])).to.deep.equal([
      [
        6,
        'zone[1].suffix',
        'zone "example.com" overlaps zone[0] "corp.example.com": expected zones that do not contain one another (give an app its own bastion instead)',
      ],
      [
        10,
        'zone[2].suffix',
        'zone "corp.example.com" is already defined (zone[0]): expected each suffix once',
      ],
    ]);
  });

  it('a zone needs exactly one of bastion and via', () => {
    expect(only('[[zone]]\nsuffix = "a.test"\n')).to.deep.equal([
      1,
      'zone[0]',
      'zone "a.test" says neither bastion = "<name>" nor via = "direct": expected one of them',
    ]);
    expect(
      only(`${BASTION}[[zone]]\nsuffix = "a.test"\nbastion = "corp"\nvia = "direct"\n`).slice(0, 2),
    ).to.deep.equal([8, 'zone[0].via']);
    expect(only('[[zone]]\nsuffix = "a.test"\nvia = "corp"\n')).to.deep.equal([
      3,
      'zone[0].via',
      '"corp" is not allowed: expected "direct" (no bastion)',
    ]);
    expect(only(`${BASTION}[[zone]]\nsuffix = "a.test"\nvia = "corp"\n`)[2]).to.equal(
      '"corp" is not allowed: expected "direct" (no bastion); to go through bastion "corp", write bastion = "corp"',
    );
  });

  const ZONE = '[[zone]]\nsuffix = "a.test"\nvia = "direct"\n'; // lines 1-3

  it('duplicate app names, case-insensitively', () => {
    const text = `${ZONE}\n[[app]]\nname = "x.a.test"\ntarget = "h"\n\n[[app]]\nname = "X.A.test."\ntarget = "h"\n`;
    expect(only(text)).to.deep.equal([
      10,
      'app[1].name',
      'duplicate app name "x.a.test" (also app[0]; names are case-insensitive): expected each app once',
    ]);
  });

  it('duplicate bastion names', () => {
    expect(only(`${BASTION}\n${BASTION}`)).to.deep.equal([
      7,
      'bastion[1].name',
      'duplicate bastion name "corp" (also bastion[0]): expected each [[bastion]] to have its own name',
    ]);
  });

  it('an app outside every zone', () => {
    expect(only(`${ZONE}[[app]]\nname = "x.b.test"\ntarget = "h"\n`)).to.deep.equal([
      5,
      'app[0].name',
      '"x.b.test" is in no zone: expected a name ending in ".a.test", or a [[zone]] for it',
    ]);
    // The zone itself is not a name inside it.
    expect(only(`${ZONE}[[app]]\nname = "a.test"\ntarget = "h"\n`)[1]).to.equal('app[0].name');
    expect(only('[[app]]\nname = "x.b.test"\ntarget = "h"\n')[2]).to.equal(
      '"x.b.test" is in no zone: expected a [[zone]] whose suffix it ends with (none is defined)',
    );
  });

  it('invalid port ranges, at the element, even on a continuation line', () => {
    const text = `${ZONE}[[app]]\nname = "x.a.test"\ntarget = "h"\nports = [80,\n  "90-80", 0, "8000-70000", "http", true]\n`;
    expect(problems(text).map((p) => [p.line, p.field, p.message])).to.deep.equal([
      [
        8,
        'app[0].ports[1]',
        '"90-80" is not a port range: expected "from-to" with from <= to, within 1-65535',
      ],
      [8, 'app[0].ports[2]', '0 is not a port: expected an integer 1-65535'],
      [
        8,
        'app[0].ports[3]',
        '"8000-70000" is not a port range: expected "from-to" with from <= to, within 1-65535',
      ],
      [
        8,
        'app[0].ports[4]',
        '"http" is not a port range: expected "from-to" with from <= to, within 1-65535',
      ],
      [8, 'app[0].ports[5]', 'expected a port (e.g. 443) or a range in a string (e.g. "8000-8100")'],
    ]);
  });

  it('an app or zone naming a bastion that does not exist', () => {
    const text = `${BASTION}\n[[zone]]\nsuffix = "a.test"\nbastion = "edge"\n\n[[app]]\nname = "x.a.test"\ntarget = "h"\nbastion = "crop"\n`;
    expect(problems(text).map((p) => [p.line, p.field, p.message])).to.deep.equal([
      [8, 'zone[0].bastion', 'bastion "edge" does not exist (bastions: "corp")'],
      [13, 'app[0].bastion', 'bastion "crop" does not exist; did you mean "corp"? (bastions: "corp")'],
    ]);
  });

  it('a jump to an unknown bastion, and jump cycles', () => {
    expect(only(`${BASTION}jump = "edge"\n`)).to.deep.equal([
      5,
      'bastion[0].jump',
      'bastion "edge" does not exist (bastions: "corp")',
    ]);
    expect(only(`${BASTION}jump = "corp"\n`)).to.deep.equal([
      5,
      'bastion[0].jump',
      'jump cycle: corp -> corp: expected a chain of jumps that ends at a bastion without jump',
    ]);
    const edge = BASTION.replace('"corp"', '"edge"');
    const three = `${BASTION}jump = "edge"\n${edge}jump = "mid"\n${BASTION.replace('"corp"', '"mid"')}jump = "edge"\n`;
    expect(only(three)).to.deep.equal([
      10,
      'bastion[1].jump',
      'jump cycle: edge -> mid -> edge: expected a chain of jumps that ends at a bastion without jump',
    ]);
  });

  it('a missing key file, or one that is not a security key', () => {
    expect(only(BASTION.replace('id_ed25519_sk', 'id_nope'))).to.deep.equal([
      4,
      'bastion[0].key',
      `no such file: ${join(t.home, '.ssh/id_nope')}: expected an OpenSSH security-key file, made by "ssh-keygen -t ecdsa-sk" or "-t ed25519-sk", or its .pub`,
    ]);
    t.write(`${HOST_KEY} me@host\n`, '.ssh/id_ed25519.pub');
    expect(only(BASTION.replace('id_ed25519_sk', 'id_ed25519.pub'))[2]).to.match(
      /id_ed25519\.pub is a ssh-ed25519 key, not a security-key one: expected/,
    );
    t.write('hello\n', '.ssh/junk');
    expect(only(BASTION.replace('id_ed25519_sk', 'junk'))[2]).to.match(/junk is not an OpenSSH key file/);
  });

  it('a missing known_hosts file when one is named (the default may be missing)', () => {
    expect(only(`${BASTION}known_hosts = "~/kh"\n`)).to.deep.equal([
      5,
      'bastion[0].known_hosts',
      `no such file: ${join(t.home, 'kh')}: expected a known_hosts file (or leave known_hosts out to use ~/.ssh/known_hosts)`,
    ]);
    expect(
      only(
        `${BASTION}known_hosts = "~/kh"\nhost_keys = ["${HOST_KEY}"]\n`.replace(
          '~/kh',
          '.ssh/id_ed25519_sk.pub',
        ),
      )[2],
    ).to.equal(
      'both host_keys and known_hosts are set: expected one of them (host_keys wins in ssh, so drop one)',
    );
  });

  it('a bad host key line', () => {
    const text = `${BASTION}host_keys = [\n  "${HOST_KEY}",\n  "ssh-ed25519 AAAA",\n  "bastion.corp ${HOST_KEY}",\n  "ssh-rsa ${HOST_KEY.split(' ')[1]}",\n]\n`;
    expect(problems(text).map((p) => [p.line, p.field, p.message])).to.deep.equal([
      [
        7,
        'bastion[0].host_keys[1]',
        `not a valid ssh-ed25519 key (truncated key blob): expected "type base64", e.g. the contents of the server's ssh_host_ed25519_key.pub`,
      ],
      [
        8,
        'bastion[0].host_keys[2]',
        `looks like a known_hosts line: drop the host name "bastion.corp"; expected "type base64", e.g. the contents of the server's ssh_host_ed25519_key.pub`,
      ],
      [
        9,
        'bastion[0].host_keys[3]',
        `not a valid ssh-rsa key (the blob is a "ssh-ed25519" key): expected "type base64", e.g. the contents of the server's ssh_host_ed25519_key.pub`,
      ],
    ]);
  });

  it('a target that is not host[:port]', () => {
    const app = (target: string) => `${ZONE}[[app]]\nname = "x.a.test"\n\ntarget = "${target}"\n`;
    expect(only(app('http://grafana:3000'))).to.deep.equal([
      7,
      'app[0].target',
      '"http://grafana:3000" is not a target: expected "host", "host:port" or "[ipv6]:port"',
    ]);
    expect(only(app('grafana:99999'))[2]).to.equal('"grafana:99999": port 99999 is outside 1-65535');
    expect(only(app('[grafana]:80'))[1]).to.equal('app[0].target');
    expect(only(app('bad host'))[1]).to.equal('app[0].target');
  });

  it('bad durations and policy', () => {
    const ps = problems(`${BASTION}keepalive = -1\nmax_session_age = "8 hours"\npolicy = "always"\n`);
    expect(ps.map((p) => [p.line, p.field, p.message])).to.deep.equal([
      [
        5,
        'bastion[0].keepalive',
        '-1 is not a duration: expected seconds (e.g. 30) or a duration like "90s", "15m", "8h", "1h30m"',
      ],
      [
        6,
        'bastion[0].max_session_age',
        '"8 hours" is not a duration: expected seconds (e.g. 30) or a duration like "90s", "15m", "8h", "1h30m"',
      ],
      [
        7,
        'bastion[0].policy',
        '"always" is not allowed: expected "session" (one touch per session) or "connection" (one touch per connection)',
      ],
    ]);
  });

  it('collects every problem, sorted by line, into one readable message', () => {
    const text = `${BASTION}jump = "nope"\n\n[[zone]]\nsuffix = "a.test"\nbastion = "corp"\n\n[[app]]\nname = "x.b.test"\ntarget = "h:0"\nports = ["2-1"]\n`;
    let err: ConfigError | undefined;
    try {
      load(text);
    } catch (e) {
      err = e as ConfigError;
    }
    const file = join(t.home, 'config.toml');
    expect(err?.message.split('\n')).to.deep.equal([
      `${file}:5: bastion[0].jump: bastion "nope" does not exist (bastions: "corp")`,
      `${file}:12: app[0].name: "x.b.test" is in no zone: expected a name ending in ".a.test", or a [[zone]] for it`,
      `${file}:13: app[0].target: "h:0": port 0 is outside 1-65535`,
      `${file}:14: app[0].ports[0]: "2-1" is not a port range: expected "from-to" with from <= to, within 1-65535`,
    ]);
  });
});
