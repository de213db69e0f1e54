import { expect } from 'chai';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../../systemext/main';
import { JsonSyntaxError, parseJsonWithLines } from '../../../systemext/json-lines';

function syntaxError(text: string): JsonSyntaxError {
  try {
    parseJsonWithLines(text);
  } catch (err) {
    if (err instanceof JsonSyntaxError) return err;
    throw err;
  }
  throw new Error(`accepted: ${text}`);
}

describe('JSON with line numbers (config files)', () => {
  const text = [
    '{',
    '  "zones": ["corp.test"],',
    '  "apps": [',
    '    { "name": "a.corp.test",',
    '      "target": "h:80" },',
    '    {',
    '      "name": "b.corp.test",',
    '      "ports": [80, [8000, 8100]]',
    '    }',
    '  ],',
    '  "mtu": 1500',
    '}',
  ].join('\n');

  it('gives the same value as JSON.parse', () => {
    expect(parseJsonWithLines(text).value).to.deep.equal(JSON.parse(text));
    for (const t of ['[]', '{}', '"x\\u00e9\\n"', '-1.5e+3', 'true', 'null', ' [1, {"a": [false]}] ']) {
      expect(parseJsonWithLines(t).value).to.deep.equal(JSON.parse(t));
    }
  });

  it('maps config paths to the line they start on', () => {
    const { lineOf } = parseJsonWithLines(text);
    expect(lineOf('zones')).to.equal(2);
    expect(lineOf('zones[0]')).to.equal(2);
    expect(lineOf('apps[0].target')).to.equal(5);
    expect(lineOf('apps[1]')).to.equal(6);
    expect(lineOf('apps[1].ports[1]')).to.equal(8);
    expect(lineOf('mtu')).to.equal(11);
  });

  it('points a missing field at the object that lacks it', () => {
    const { lineOf } = parseJsonWithLines(text);
    expect(lineOf('apps[1].target')).to.equal(6);
    expect(lineOf('range')).to.equal(1);
  });

  it('says where a syntax error is, and what it is', () => {
    expect(syntaxError('{\n  "a": [1,\n  ]\n}')).to.include({
      line: 3,
      column: 3,
      problem: 'trailing comma before ]',
    });
    expect(syntaxError('{\n  "a": 1,\n}').problem).to.equal('trailing comma before }');
    expect(syntaxError('{\n  "a" 1\n}')).to.include({
      line: 2,
      problem: `expected ':' after member name "a", found "1"`,
    });
    expect(syntaxError('{"a": "open\n"}').problem).to.match(/control character/);
    expect(syntaxError('{"a": "never closed').problem).to.equal('string never closed');
    expect(syntaxError('{"a": 1} x')).to.include({ line: 1, column: 10 });
    expect(syntaxError('{a: 1}').problem).to.match(/quoted/);
    expect(syntaxError('').problem).to.equal('expected a value, found end of file');
    expect(syntaxError('[1 2]').problem).to.match(/expected '\]' or ','/);
    expect(syntaxError('{"a": tru}').problem).to.match(/expected a value/);
    expect(syntaxError('{"a": "\\x"}').problem).to.equal('bad escape in a string');
  });
});

describe('daemon config file errors point at the line', () => {
  let dir: string;
  before(() => (dir = mkdtempSync(join(tmpdir(), 'kvn-cfg-'))));
  after(() => rmSync(dir, { recursive: true, force: true }));

  function loadError(text: string): string {
    const file = join(dir, 'daemon.json');
    writeFileSync(file, text);
    try {
      loadConfig(file);
    } catch (err) {
      return (err as Error).message.replace(file, 'F');
    }
    throw new Error('accepted');
  }

  it('names line and field for a bad value, line and column for bad JSON', () => {
    const bad =
      '{\n  "zones": ["corp.test"],\n  "apps": [\n    { "name": "x.corp.test",\n      "target": "h:0" }\n  ]\n}\n';
    expect(loadError(bad)).to.equal('config F:5: apps[0].target: expected an integer 1..65535, got 0');
    expect(loadError('{\n  "zones": ["corp.test"],\n}\n')).to.equal(
      'config F:3:1: not valid JSON: trailing comma before }',
    );
  });
});
