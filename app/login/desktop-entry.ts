// The XDG autostart entry (~/.config/autostart/keyvnet.desktop) that starts KeyVNet at login on
// Linux desktops (freedesktop "Desktop Application Autostart" + "Desktop Entry" specifications).
// Pure: text in, text out.

export interface DesktopEntrySpec {
  name: string;
  comment: string;
  /** The program and its arguments. */
  exec: string[];
  /** An absolute icon path or a theme icon name. */
  icon: string;
}

/** A `string`/`localestring` value: \s \n \t \r \\ escapes; one line. */
export function desktopValue(s: string): string {
  return s
    .replace(/\\/g, '\\\\')
    .replace(/\n/g, '\\n')
    .replace(/\t/g, '\\t')
    .replace(/\r/g, '\\r')
    .replace(/^ /, '\\s');
}

/**
 * One argument of Exec: quoted when it holds a reserved character, with `"`, `` ` ``, `$` and `\`
 * backslash-escaped inside the quotes, and `%` doubled (field codes). Then the whole key is a string
 * value, so its backslashes are escaped once more (the spec's two levels of escaping).
 */
export function execArg(arg: string): string {
  if (arg === '') return '""';
  const escaped = arg.replace(/%/g, '%%');
  if (!/[\s"'\\><~|&;$*?#()`=]/.test(escaped)) return escaped;
  return `"${escaped.replace(/(["`$\\])/g, '\\$1')}"`;
}

export function desktopEntry(spec: DesktopEntrySpec): string {
  if (spec.exec.length === 0) throw new Error('an autostart entry needs a program');
  if (spec.exec.some((a) => /[\n\r]/.test(a))) throw new Error('a program argument cannot span lines');
  const exec = spec.exec.map(execArg).join(' ');
  return [
    '[Desktop Entry]',
    'Type=Application',
    `Name=${desktopValue(spec.name)}`,
    `Comment=${desktopValue(spec.comment)}`,
    `Exec=${desktopValue(exec)}`,
    `Icon=${desktopValue(spec.icon)}`,
    'Terminal=false',
    'NoDisplay=true',
    'X-GNOME-Autostart-enabled=true',
    '',
  ].join('\n');
}

/** Whether an autostart file starts the app: it exists and neither Hidden nor disabled (GNOME). */
export function desktopEntryEnabled(text: string): boolean {
  let inMain = false;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line.startsWith('[')) {
      inMain = line === '[Desktop Entry]';
      continue;
    }
    if (!inMain) continue;
    const m = /^([A-Za-z0-9-]+)\s*=\s*(.*)$/.exec(line);
    if (!m) continue;
    if (m[1] === 'Hidden' && m[2] === 'true') return false;
    if (m[1] === 'X-GNOME-Autostart-enabled' && m[2] === 'false') return false;
  }
  return true;
}
