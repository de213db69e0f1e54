// Whatever TOML a user writes, the loader answers with a config or a ConfigError whose problems all
// have a line in the file: never another exception, never a line that is not there.
import { expect } from 'chai';
import fc from 'fast-check';
import { stringify } from 'smol-toml';
import { ConfigError, parseConfig } from '../../../app/config';

const FIELDS = [
  'name',
  'host',
  'port',
  'key',
  'suffix',
  'bastion',
  'via',
  'target',
  'ports',
  'jump',
  'range',
  'x',
];
const scalar = fc.oneof(
  fc.constantFrom('corp', 'direct', 'a.test', 'x.a.test', '90-80', '8h', '100.64.0.0/10', '', 'h:80'),
  fc.string(),
  fc.integer({ min: -5, max: 70000 }),
  fc.boolean(),
);
const value = fc.oneof(scalar, fc.array(scalar, { maxLength: 3 }));
const table = fc.dictionary(fc.constantFrom(...FIELDS), value, { maxKeys: 5 });
const doc = fc.record(
  {
    vnet: fc.oneof(table, scalar),
    bastion: fc.oneof(fc.array(table, { maxLength: 3 }), table),
    zone: fc.array(table, { maxLength: 3 }),
    app: fc.oneof(fc.array(table, { maxLength: 3 }), fc.array(scalar, { maxLength: 2 })),
    extra: scalar,
  },
  { requiredKeys: [] },
);

function valueAt(data: unknown, path: (string | number)[]): unknown {
  let v = data;
  for (const k of path)
    v = typeof v === 'object' && v !== null ? (v as Record<string, unknown>)[k] : undefined;
  return v;
}

describe('config: any TOML gives a config or located problems', () => {
  it('never throws anything but ConfigError, and every line exists', () => {
    fc.assert(
      fc.property(doc, (d) => {
        const text = stringify(d);
        const lines = text.split('\n').length;
        try {
          parseConfig(text, '/nonexistent/config.toml', { home: '/nonexistent', username: 'u' });
        } catch (err) {
          expect(err).to.be.instanceOf(ConfigError);
          for (const p of (err as ConfigError).problems) {
            expect(p.line).to.be.within(1, lines);
            expect(p.message).to.be.a('string').and.not.equal('');
            // A problem about a key that is in the file points at the line that writes it (or its header).
            const path = [...p.field.matchAll(/([A-Za-z0-9_-]+)|\[(\d+)\]/g)].map(
              (m) => m[1] ?? Number(m[2]),
            );
            const last = path[path.length - 1];
            if (typeof last === 'string' && valueAt(d, path) !== undefined) {
              expect(text.split('\n')[p.line - 1], `${p.field} in\n${text}`).to.match(
                new RegExp(`^(\\[+)?(${last} = |${last}\\])`),
              );
            }
          }
        }
      }),
      { numRuns: 300 },
    );
  });
});
