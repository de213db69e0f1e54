// The macOS LaunchAgent property list that starts KeyVNet at login (the fallback for macOS < 13,
// where SMAppService does not exist, and for runs outside an app bundle). Pure: text in, text out.
// Written by hand rather than with a plist library: five keys, and every string is escaped.

export interface LaunchAgentSpec {
  /** The job's label, also the file name: ~/Library/LaunchAgents/<label>.plist. */
  label: string;
  /** The program and its arguments (absolute paths). */
  programArguments: string[];
}

/** XML character data: the five characters XML reserves, and no control character. */
export function xmlEscape(s: string): string {
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]/.test(s)) {
    throw new Error(`cannot put a control character in a property list: ${JSON.stringify(s)}`);
  }
  return s
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;');
}

export function launchAgentPlist(spec: LaunchAgentSpec): string {
  if (!/^[A-Za-z0-9._-]+$/.test(spec.label)) throw new Error(`bad LaunchAgent label: ${spec.label}`);
  if (spec.programArguments.length === 0) throw new Error('a LaunchAgent needs a program');
  const args = spec.programArguments.map((a) => `\t\t<string>${xmlEscape(a)}</string>`).join('\n');
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    '<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">',
    '<plist version="1.0">',
    '<dict>',
    '\t<key>Label</key>',
    `\t<string>${xmlEscape(spec.label)}</string>`,
    '\t<key>ProgramArguments</key>',
    '\t<array>',
    args,
    '\t</array>',
    // Once per login, in the user's GUI session; quitting from the menu is not a crash to restart.
    '\t<key>RunAtLoad</key>',
    '\t<true/>',
    '\t<key>KeepAlive</key>',
    '\t<false/>',
    '\t<key>LimitLoadToSessionType</key>',
    '\t<string>Aqua</string>',
    '\t<key>ProcessType</key>',
    '\t<string>Interactive</string>',
    '</dict>',
    '</plist>',
    '',
  ].join('\n');
}
