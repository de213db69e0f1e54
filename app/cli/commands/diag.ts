// diag: placeholder until app/diag lands (next commit).
import type { Command } from 'commander';
import type { Runner } from '../program';

export function registerDiagCommand(_program: Command, _runner: Runner): void {}
