// What `keyvnet` exits with. Scripts branch on these, so they never change meaning; README lists them.
export const Exit = {
  /** Done; for `diag`: no check failed (warnings allowed). */
  Ok: 0,
  /** The operation failed (the message says why). */
  Failure: 1,
  /** Bad command line: unknown command or option, missing argument. */
  Usage: 2,
  /** The KeyVNet daemon is not running (no socket, or nothing listening on it). */
  DaemonNotRunning: 3,
  /** The user's config file is invalid (every problem is printed as file:line: field: message). */
  ConfigInvalid: 4,
  /** `diag`: at least one check failed. */
  DiagFailed: 5,
  /** No security key is plugged in (key commands). */
  NoSecurityKey: 6,
  /** The daemon runs but no agent is connected (`up` needs one: the agent answers its requests). */
  AgentNotRunning: 7,
  /** The user cancelled (Ctrl-C at a prompt, no PIN entered). */
  Cancelled: 8,
} as const;
export type ExitCode = (typeof Exit)[keyof typeof Exit];

/** An error that ends the command with this exit code; `message` is printed as `keyvnet: message`. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: ExitCode = Exit.Failure,
    /** Extra lines printed after the message (e.g. every config problem, or a hint). */
    readonly details: string[] = [],
  ) {
    super(message);
    this.name = 'CliError';
  }
}

/** The table for `keyvnet --help` and the README. */
export const EXIT_CODE_HELP = `Exit codes:
  0  ok (diag: no check failed)
  1  failure
  2  usage error (unknown command or option, bad argument)
  3  the daemon is not running (no socket)
  4  the config file is invalid
  5  diag: at least one check failed
  6  no security key plugged in
  7  no agent is connected to the daemon (keyvnet up needs one)
  8  cancelled by the user`;
