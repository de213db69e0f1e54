// Mutation testing of the security-key and ssh code (issue 10 §5), with Stryker's `command` runner
// (the mocha runner of Stryker 9.5 wants mocha < 12). Every mutant runs the fast unit tests of
// app/fido and app/ssh, stopping at the first failure; aim: ≥ 80 % of mutants killed.
//
//   npx stryker run stryker.fido.conf.mjs                                # everything (hours on 2 cores)
//   npx stryker run stryker.fido.conf.mjs --mutate app/ssh/signed-data.ts  # one file (minutes)
//
// The virtual authenticator and the test entry point are test doubles, not mutated. The tests
// that run real OpenSSH tools (ssh-add, ssh-keygen) are left out of the per-mutant command for
// speed; they run in the normal test suite.
// mocha's globs take * but not {a,b}: the ssh files are listed one by one.
const fast = [
  'tests/unit/fido/*.test.ts',
  ...[
    'agent',
    'enroll-interop',
    'hostkey',
    'keys',
    'key-store',
    'resident',
    'signature',
    'virtual-key',
    'websafe',
  ].map((f) => `tests/unit/ssh/${f}.test.ts`),
  'tests/unit/app-ui/prompt-text.test.ts',
]
  .map((g) => `"${g}"`)
  .join(' ');

export default {
  testRunner: 'command',
  commandRunner: { command: `npx mocha --bail --reporter dot ${fast}` },
  mutate: ['app/fido/**/*.ts', 'app/ssh/**/*.ts', '!app/fido/virtual/**', '!app/fido/testing.ts'],
  coverageAnalysis: 'off',
  concurrency: 2,
  timeoutMS: 60_000,
  reporters: ['clear-text', 'progress', 'html'],
  htmlReporter: { fileName: '.cache/mutation/fido-ssh.html' },
  tempDirName: '.cache/stryker-tmp-fido',
  thresholds: { high: 90, low: 80, break: null },
};
