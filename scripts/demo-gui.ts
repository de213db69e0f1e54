// The demo's menu-bar app (scripts/demo-product.ts, when a display is present): whether it can run
// here, and its `--ui-probe` lines (KEYVNET-UI {json}) told as the headless agent's status lines,
// so the demo prints and checks the same things in both modes:
//   tray: icon shown        status: VNet on · 2 apps        prompt: touch Touch your security key …
//   prompt: done            notification: <title>
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';

const PREFIX = 'KEYVNET-UI ';

/** The qode stand-in's path when the menu-bar app can run here, else why not. */
export function guiAvailable(
  root: string,
  env: NodeJS.ProcessEnv = process.env,
): { standin: string } | { why: string } {
  if (process.platform !== 'linux') return { why: `the demo's namespaces are Linux-only` };
  if (!env.DISPLAY && !env.WAYLAND_DISPLAY) return { why: 'no DISPLAY or WAYLAND_DISPLAY' };
  try {
    const standin = execFileSync(join(root, 'scripts', 'qode-standin', 'build.sh'), { stdio: 'pipe' })
      .toString()
      .trim();
    return { standin };
  } catch (err) {
    const e = err as { stderr?: Buffer; message: string };
    return { why: `the qode stand-in does not build: ${e.stderr?.toString().trim() || e.message}` };
  }
}

/** A stateful mapper for Lines: probe lines in, status lines out (other stdout lines dropped). */
export function probeToStatusLines(): (line: string) => string[] {
  let status = '';
  /** The small window's line ("touch …" / "insert …"), '' when it is down. */
  let small = '';
  let dialog = '';
  return (line) => {
    if (!line.startsWith(PREFIX)) return [];
    let e: Record<string, unknown>;
    try {
      e = JSON.parse(line.slice(PREFIX.length)) as Record<string, unknown>;
    } catch {
      return [];
    }
    const out: string[] = [];
    switch (e.event) {
      case 'tray-visible':
        out.push('tray: icon shown');
        break;
      case 'menu': {
        const items = (e.items ?? []) as { id: string; text: string }[];
        const now = items.find((i) => i.id === 'status')?.text ?? '';
        if (now !== status) {
          status = now;
          out.push(`status: ${now} (icon ${String(e.icon)})`);
        }
        break;
      }
      case 'prompt-windows': {
        const d = e.dialog as { title: string } | null;
        // As the headless agent says it: the insert prompt becoming the touch prompt in the same
        // window is one prompt done and the next shown.
        const now =
          e.touch === true ? `${e.insert === true ? 'insert' : 'touch'} ${String(e.touchTitle)}` : '';
        const kind = (l: string): string => l.split(' ')[0];
        if (small !== '' && (now === '' || kind(now) !== kind(small))) out.push('prompt: done');
        if (now !== '' && (small === '' || kind(now) !== kind(small))) out.push(`prompt: ${now}`);
        if (d && d.title !== dialog) out.push(`prompt: pin ${d.title}`);
        small = now;
        dialog = d?.title ?? '';
        break;
      }
      case 'notification':
        out.push(`notification: ${String(e.title)}`);
        break;
      case 'exit':
        out.push(`exit: ${String(e.reason)}`);
        break;
    }
    return out;
  };
}
