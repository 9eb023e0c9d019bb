/**
 * The `nightshift` command line: builds the commander program from the command groups, runs it, and
 * turns every outcome into an exit code (0 ok, 1 failure, 2 usage error) and at most one error line.
 */
import { readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import { NightshiftError, type ErrorCode } from '../errors.js';
import { usageError } from './arguments.js';
import { COMMAND_GROUPS } from './commands/index.js';
import { inFlagWords } from './flag-words.js';
import { COMMON_OPTION_KEYS, withCommonOptions } from './session.js';

/** Exit codes of the binary; part of the public contract. */
export const EXIT = { ok: 0, failure: 1, usage: 2 } as const;

/** Error codes that mean "the command line or its input was wrong", reported with exit code 2. */
const USAGE_CODES: ReadonlySet<ErrorCode> = new Set(['invalid_argument', 'invalid_payload', 'unknown_task']);

/**
 * Builds the program with every command group registered. Every command, whatever group registered
 * it, gets the common options (`--db`, `--config`, `--json`) and accepts them before or after its
 * name: `nightshift --db X migrate` and `nightshift migrate --db X` mean the same. Errors are never
 * printed by commander itself; `runCli` prints them, once, as one line.
 */
export function buildProgram(): Command {
  const program = new Command('nightshift')
    .description('durable background jobs and recurring schedules on SQLite or PostgreSQL')
    .version(packageVersion())
    .showSuggestionAfterError();
  for (const register of COMMAND_GROUPS) register(program);
  // Subcommands copy the parent's settings only when created through it, so apply these to all.
  for (const command of commandTree(program)) {
    if (!command.options.some((option) => option.long === '--db')) withCommonOptions(command);
    command.exitOverride().configureOutput({ writeErr: () => undefined, outputError: () => undefined });
  }
  program.hook('preAction', (_program, action) => {
    inheritCommonOptions(action);
    refuseEmptyDatabaseUrl(action);
  });
  return program;
}

/** A command and all its subcommands, depth first. */
function commandTree(command: Command): Command[] {
  return [command, ...command.commands.flatMap(commandTree)];
}

/**
 * Gives the command about to run the common options given anywhere on the command line: the value
 * typed closest to it wins, and a value from the environment (`NIGHTSHIFT_DB`) only when none was typed.
 */
function inheritCommonOptions(action: Command): void {
  const lineage: Command[] = [];
  for (let command: Command | null = action; command !== null; command = command.parent) {
    lineage.push(command);
  }
  for (const key of COMMON_OPTION_KEYS) {
    if (action.getOptionValueSource(key) === 'cli') continue;
    const typed = lineage.find((command) => command.getOptionValueSource(key) === 'cli');
    if (typed !== undefined) action.setOptionValueWithSource(key, typed.getOptionValue(key), 'cli');
  }
}

/**
 * An empty database URL is a mistake (`--db "$UNSET_VAR"`, an exported but empty `NIGHTSHIFT_DB`), not
 * a request for the default database: taken as one, `migrate` created ./nightshift.db unasked.
 */
function refuseEmptyDatabaseUrl(action: Command): void {
  const db: unknown = action.getOptionValue('db');
  if (typeof db !== 'string' || db.trim() !== '') return;
  const given =
    action.getOptionValueSource('db') === 'env' ? 'NIGHTSHIFT_DB is set but empty' : '--db is empty';
  throw usageError(
    `database URL is empty (${given}): give one, such as sqlite:./nightshift.db or postgres://user@host:port/db`,
  );
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
    // Help and --version end in a CommanderError with exit code 0; their text went to stdout.
    if (error instanceof CommanderError && error.exitCode === 0) return EXIT.ok;
    const code: ErrorCode | 'internal' =
      error instanceof NightshiftError
        ? error.code
        : error instanceof CommanderError
          ? 'invalid_argument'
          : 'internal';
    const usage = code !== 'internal' && USAGE_CODES.has(code);
    // A usage error the library raised names its option; the user typed a flag.
    const message =
      error instanceof CommanderError
        ? commanderMessage(error, program, argv)
        : usage
          ? inFlagWords(errorMessage(error), deepestCommand(program, argv.slice(2)))
          : errorMessage(error);
    if (argv.includes('--json')) stderr.write(JSON.stringify({ error: { code, message } }) + '\n');
    else stderr.write(`nightshift: ${message}\n`);
    return usage ? EXIT.usage : EXIT.failure;
  }
}

/** The first line of an error's message. */
function errorMessage(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.split('\n')[0] ?? message;
}

/**
 * Commander's own error as one line: without its `error: ` prefix, a suggestion joined to the same
 * line, and a missing subcommand (where commander would print the whole help) named with the choices.
 */
function commanderMessage(error: CommanderError, program: Command, argv: string[]): string {
  if (error.code === 'commander.help') {
    const group = deepestCommand(program, argv.slice(2));
    const names = group.commands.map((command) => command.name()).join(', ');
    const path = commandPath(group);
    return `missing command after "${path}": ${names} (see ${path} --help)`;
  }
  return error.message
    .replace(/^error: /, '')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '')
    .join(' ');
}

/** The command the words of `args` lead to (options skipped). */
function deepestCommand(program: Command, args: string[]): Command {
  let command = program;
  for (const arg of args) {
    const next = command.commands.find((sub) => sub.name() === arg || sub.aliases().includes(arg));
    if (next !== undefined) command = next;
  }
  return command;
}

/** `nightshift jobs`, as typed. */
function commandPath(command: Command): string {
  const names: string[] = [];
  for (let c: Command | null = command; c !== null; c = c.parent) names.unshift(c.name());
  return names.join(' ');
}
