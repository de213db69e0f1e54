// `keyvnet`: the command for everything a user or a script does without the menu (README.md, "The keyvnet command").
// Started by bin/keyvnet (tsx, from a clone) or directly: node --import tsx app/cli/main.ts status
import { realContext } from './context';
import { runCli } from './program';

/** Runs the command with process.argv and sets the exit code (a long-running child keeps us alive). */
export async function cliMain(argv: string[] = process.argv.slice(2)): Promise<void> {
  const code = await runCli(argv, realContext());
  process.exitCode = code;
}

declare const __webpack_require__: unknown;
if (typeof __webpack_require__ === 'function' || require.main === module) {
  void cliMain();
}
