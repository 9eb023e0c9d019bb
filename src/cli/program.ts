/**
 * The `nightshift` command line: builds the commander program from the command groups, runs it, and
 * turns every outcome into an exit code (0 ok, 1 failure, 2 usage error) and at most one error line.
 */
import { readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import { NightshiftError, type ErrorCode } from '../errors.js';
import { COMMAND_GROUPS } from './commands/index.js';

/** Exit codes of the binary; part of the public contract. */
export const EXIT = { ok: 0, failure: 1, usage: 2 } as const;

/** Error codes that mean "the command line or its input was wrong", reported with exit code 2. */
const USAGE_CODES: ReadonlySet<ErrorCode> = new Set(['invalid_argument', 'invalid_payload', 'unknown_task']);

/** Builds the program with every command group registered. */
export function buildProgram(): Command {
  const program = new Command('nightshift')
    .description('durable background jobs and recurring schedules on SQLite or PostgreSQL')
    .version(packageVersion())
    .exitOverride()
    .showSuggestionAfterError();
  for (const register of COMMAND_GROUPS) register(program);
  // Subcommands copy the parent's settings only when created through it, so apply exitOverride to all.
  const all = (command: Command): Command[] => [command, ...command.commands.flatMap(all)];
  for (const command of all(program)) command.exitOverride();
  return program;
}

/** The installed package's version; package.json sits two levels up from both src/cli and dist/cli. */
function packageVersion(): string {
  const manifest = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
    version?: string;
  };
  return manifest.version ?? 'unknown';
}

/**
 * Runs the CLI with `argv` (node-style: the first two entries are the runtime and the script) and
 * resolves with the exit code. Errors are printed here, once: as one line, or with `--json` as
 * `{"error":{"code","message"}}` on stderr.
 */
export async function runCli(
  argv: string[],
  stderr: { write(text: string): unknown } = process.stderr,
): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
    return EXIT.ok;
  } catch (error) {
    // Commander already printed its own message (unknown option, missing argument, help).
    if (error instanceof CommanderError) return error.exitCode === 0 ? EXIT.ok : EXIT.usage;
    const code: ErrorCode | 'internal' = error instanceof NightshiftError ? error.code : 'internal';
    const message = error instanceof Error ? error.message : String(error);
    const line = message.split('\n')[0] ?? message;
    if (argv.includes('--json')) stderr.write(JSON.stringify({ error: { code, message: line } }) + '\n');
    else stderr.write(`nightshift: ${line}\n`);
    return code !== 'internal' && USAGE_CODES.has(code) ? EXIT.usage : EXIT.failure;
  }
}
