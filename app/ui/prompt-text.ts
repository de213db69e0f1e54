// The words of the touch, PIN, passphrase and confirm prompts, shared by the GUI (app/ui/prompts.ts)
// and the terminal (app/headless/prompts.ts) so both say the same thing, built from the structured
// Purpose of the request (app/fido/api.ts). Pure: no I/O, unit-tested.
//
// Everything here is plain text: the GUI shows it with Qt::PlainText, so a user or host name such
// as "<b>x</b>" is shown as typed, never rendered. Control and bidi-override characters in what
// peers send (user names, hosts, comments) are replaced, so a name cannot forge a line of its own.
import type {
  ConfirmPrompt,
  InsertKeyPrompt,
  PassphrasePrompt,
  PinPrompt,
  Purpose,
  TouchPrompt,
} from '../fido/api';

export type PinRequest = PinPrompt;
export type TouchRequest = TouchPrompt;

export interface PinPromptText {
  title: string;
  /** What for, who asked, which key. */
  detail: string;
  /** The attempts left, or null when there is nothing to warn about. */
  warning: string | null;
}

export interface TouchPromptText {
  title: string;
  detail: string;
}

const MAX_FIELD = 120;

/** A field from a peer, safe to show on one line. */
export function cleanField(s: string): string {
  // C0/C1 controls, line/paragraph separators, bidi embeddings/overrides/isolates.
  // eslint-disable-next-line no-control-regex
  const out = s.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g, '\uFFFD');
  return out.length > MAX_FIELD ? `${out.slice(0, MAX_FIELD - 1)}…` : out;
}

/** The action after "to …": "connect to corp (bastion.corp.example.com)". */
export function purposeAction(p: Purpose): string {
  const bastion = p.bastion !== undefined ? cleanField(p.bastion) : undefined;
  const host = p.host !== undefined ? cleanField(p.host) : undefined;
  switch (p.what) {
    case 'ssh-login': {
      const target = bastion && host && bastion !== host ? `${bastion} (${host})` : (bastion ?? host);
      return target ? `connect to ${target}` : 'log in with SSH';
    }
    case 'sign-data': {
      const ns = p.namespace !== undefined ? cleanField(p.namespace) : undefined;
      if (ns === 'git') return 'sign a git commit';
      if (ns === 'file') return 'sign a file';
      return ns ? `sign data for "${ns}"` : 'sign data';
    }
    case 'ssh-sign':
      return 'make an SSH signature';
    case 'enroll':
      return 'create an SSH key';
    case 'list-resident':
      return 'read the SSH keys stored on it';
    case 'change-pin':
      return 'change its PIN';
    case 'set-pin':
      return 'set its PIN';
    case 'select-key':
      return 'choose it';
  }
}

/**
 * "Asked by the KeyVNet daemon", "Asked by ssh (pid 4242)", "Asked by you in KeyVNet", "Asked by the
 * keyvnet command (pid 5150)" (through the agent's control socket).
 */
export function requesterText(p: Purpose): string {
  if (p.requester === 'daemon') return 'Asked by KeyVNet for the virtual network';
  if (p.requester === 'app')
    return p.process
      ? `Asked by the ${cleanField(p.process.name ?? 'keyvnet')} command (pid ${p.process.pid})`
      : 'Asked by you in KeyVNet';
  const proc = p.process;
  if (!proc) return 'Asked by a program using the KeyVNet ssh-agent';
  const name = proc.name !== undefined ? cleanField(proc.name) : 'a program';
  return `Asked by ${name} (pid ${proc.pid}) through the KeyVNet ssh-agent`;
}

function detailLines(p: Purpose, keyLabel: string | null): string {
  const parts: string[] = [];
  if (p.user !== undefined) parts.push(`As user ${cleanField(p.user)}`);
  if (p.keyComment) parts.push(`SSH key ${cleanField(p.keyComment)}`);
  if (keyLabel !== null) parts.push(`Security key: ${cleanField(keyLabel)}`);
  parts.push(requesterText(p));
  return parts.join('\n');
}

export function touchPromptText(req: TouchRequest): TouchPromptText {
  const title =
    req.purpose.what === 'select-key'
      ? 'Touch the security key you want to use'
      : req.fingerprint
        ? `Touch the fingerprint sensor of your security key to ${purposeAction(req.purpose)}`
        : `Touch your security key to ${purposeAction(req.purpose)}`;
  return { title, detail: detailLines(req.purpose, req.keyLabel) };
}

/** "Insert your security key to connect to corp (bastion…)"; the detail says how long it waits. */
export function insertKeyPromptText(req: InsertKeyPrompt): TouchPromptText {
  const wait = Math.round(req.timeoutMs / 1000);
  const title =
    req.purpose.what === 'select-key'
      ? 'Insert your security key'
      : `Insert your security key to ${purposeAction(req.purpose)}`;
  return {
    title,
    detail: `${detailLines(req.purpose, null)}
Waiting ${wait < 120 ? `${wait} s` : `${Math.round(wait / 60)} min`} for a security key.`,
  };
}

export function pinPromptText(req: PinRequest): PinPromptText {
  let warning: string | null = null;
  if (req.retriesLeft !== null) {
    const n = req.retriesLeft;
    warning = req.afterWrongPin
      ? `Wrong PIN. ${n} ${n === 1 ? 'try' : 'tries'} left.`
      : `${n} ${n === 1 ? 'attempt' : 'attempts'} left.`;
    // CTAP2 §6.5.5.7: at zero retries the key blocks its PIN and must be reset.
    if (n === 1) warning += ' Another wrong PIN blocks the key.';
  } else if (req.afterWrongPin) warning = 'Wrong PIN.';
  const label = cleanField(req.keyLabel);
  return {
    title:
      req.entry === 'new'
        ? `Choose a new PIN for ${label} (4 to 63 characters)`
        : req.entry === 'repeat'
          ? `Enter the new PIN of ${label} again`
          : `Enter the PIN of ${label}`,
    detail: `To ${purposeAction(req.purpose)}.\n${detailLines(req.purpose, null)}`,
    warning,
  };
}

export function passphrasePromptText(req: PassphrasePrompt): PinPromptText {
  return {
    title: `Enter the passphrase of ${cleanField(req.file)}`,
    detail: `To ${purposeAction(req.purpose)}.\n${detailLines(req.purpose, null)}`,
    warning: req.attempt > 0 ? 'Wrong passphrase; try again.' : null,
  };
}

export function confirmPromptText(req: ConfirmPrompt): TouchPromptText {
  return {
    title: `Allow the use of SSH key ${cleanField(req.keyComment || req.keyFingerprint)} to ${purposeAction(req.purpose)}?`,
    detail: `${req.keyFingerprint}\n${detailLines(req.purpose, null)}`,
  };
}
