/**
 * A library refusal in the words of the command line. The CLI hands most flags to the library as they
 * were typed, and the library refuses a bad one by its option's name: `--key ''` was answered
 * "idempotencyKey must be a non-empty string", a name the user never typed. The refusal's subject (and
 * the option a "needs a" names) is put back as the flag the user typed; a flag that sets an option of
 * another name says which (`optionNamed`). Only flags typed on this command line are named as the
 * subject: a value from the config file is refused in the config's words.
 */
import type { Command } from 'commander';

/** Per command, the library's name of each flag whose option is named otherwise (`--key`: idempotencyKey). */
const LIBRARY_NAMES = new WeakMap<Command, ReadonlyMap<string, string>>();

/**
 * Declares that `command` passes each of these flags to the library as the option named beside it,
 * so that a refusal naming that option names the flag.
 */
export function optionNamed(command: Command, names: Readonly<Record<`--${string}`, string>>): Command {
  LIBRARY_NAMES.set(command, new Map(Object.entries(names)));
  return command;
}

// `idPrefix must ...`, `schedule "s": timezone must ...`, `concurrencyLimit needs a concurrencyKey: ...`:
// the library's refusals start with the option they refuse, after the schedule's context when a schedule.
const REFUSAL = /^(schedule "[^"]*": )?([A-Za-z]+)( must | needs an? )([A-Za-z]+\b)?/;

/** `message` with the library's option names put back as the flags of `command` that set them. */
export function inFlagWords(message: string, command: Command): string {
  const renamed = LIBRARY_NAMES.get(command);
  const flagOf = (name: string, typedOnly: boolean): string | undefined => {
    const option = command.options.find(
      (candidate) =>
        candidate.long !== undefined &&
        (renamed?.get(candidate.long) ?? candidate.attributeName()) === name &&
        (!typedOnly || command.getOptionValueSource(candidate.attributeName()) === 'cli'),
    );
    return option?.long;
  };
  return message.replace(
    REFUSAL,
    (whole, context: string | undefined, subject: string, verb: string, object: string | undefined) => {
      const flag = flagOf(subject, true);
      if (flag === undefined) return whole;
      const needed = verb.startsWith(' needs') && object !== undefined ? flagOf(object, false) : undefined;
      return `${context ?? ''}${flag}${verb}${needed ?? object ?? ''}`;
    },
  );
}
