// Diagnostics: the public entry point (the `keyvnet diag` command and the menu's "Diagnostics…").
//   const report = await runDiagnostics({ configPath, daemonSocketPath, agentSocketPath, version });
//   show(formatReport(report));   // or JSON.stringify(report)
export { runDiagnostics, DEFAULT_VNET_RANGE, type DiagOptions, type PluggedKeyInfo } from './run';
export { formatReport } from './report';
export type { CheckResult, CheckStatus, DiagReport } from './types';
export { describeKey, type KeyInfo } from './key-info';
