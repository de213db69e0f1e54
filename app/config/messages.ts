// Zod issues as the user reads them: "what is wrong: what is expected", with "did you mean" for
// misspelt fields. The expectations per field are in schema.ts (EXPECTED).
import type { z } from 'zod';
import type { Issue } from './checks';
import { ALIASES, EXPECTED, knownFields } from './schema';
import { closest } from './suggest';

/** How a value reads in a message. */
function describe(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (typeof v === 'string') return JSON.stringify(v);
  if (v instanceof Date) return 'a date';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'object' && v !== null) return 'a table';
  return String(v);
}

function valueAt(data: unknown, path: readonly PropertyKey[]): unknown {
  let v = data;
  for (const k of path)
    v = typeof v === 'object' && v !== null ? (v as Record<PropertyKey, unknown>)[k] : undefined;
  return v;
}

/** The EXPECTED key of a path: 'app.ports[]' for ['app', 3, 'ports', 1]. */
function expectedKey(path: readonly PropertyKey[]): string {
  const names = path.filter((p) => typeof p === 'string');
  const key = names.slice(0, 2).join('.');
  return names.length === 2 && typeof path[path.length - 1] === 'number' ? `${key}[]` : key;
}

/** One zod issue → the problems it stands for (an unrecognized_keys issue lists several fields). */
export function describeIssue(issue: z.core.$ZodIssue, prefix: PropertyKey[], data: unknown): Issue[] {
  const path = [...prefix, ...issue.path];
  const input = valueAt(data, issue.path);
  const expected = EXPECTED[expectedKey(path)] ?? 'a different value';
  switch (issue.code) {
    case 'unrecognized_keys': {
      const section = typeof path[0] === 'string' ? path[0] : '';
      const known = knownFields(section);
      return issue.keys.map((key) => {
        // A field written above its table's header lands at the top level.
        const home =
          section === ''
            ? (['vnet', 'bastion', 'zone', 'app'] as const).find((s) => knownFields(s).includes(key))
            : undefined;
        if (home)
          return {
            path: [...path, key],
            message: `unknown field at the top level: "${key}" belongs in a ${home === 'vnet' ? '[vnet]' : `[[${home}]]`} table (write it below that header)`,
          };
        const hint = closest(key, known, ALIASES);
        const where = section ? `[${section === 'vnet' ? 'vnet' : `[${section}]`}]` : 'the top level';
        return {
          path: [...path, key],
          message: `unknown field${hint ? `; did you mean "${hint}"?` : ''} (known in ${where}: ${known.join(', ')})`,
        };
      });
    }
    case 'custom':
      return [{ path, message: issue.message }];
    case 'invalid_type':
    case 'invalid_union': {
      if (input === undefined) return [{ path, message: `missing: expected ${expected}` }];
      const tables =
        path.length === 1 && !Array.isArray(input) && typeof input === 'object' && path[0] !== 'vnet'
          ? ` (write [[${String(path[0])}]] with double brackets)`
          : '';
      return [{ path, message: `${describe(input)} is the wrong type: expected ${expected}${tables}` }];
    }
    case 'invalid_value':
      return [{ path, message: `${describe(input)} is not allowed: expected ${expected}` }];
    default:
      if (Array.isArray(input) && input.length === 0)
        return [{ path, message: `empty: expected ${expected}` }];
      return [{ path, message: `${describe(input)} is not allowed: expected ${expected}` }];
  }
}
