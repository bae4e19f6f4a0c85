// The CLI's argument layer: which options exist, which command takes which, what shape each
// argument has, and the help text of every command, all from one table of command specs. The
// whole command line is checked here, before a command runs, so a wrong argument never starts a
// relay or creates an identity first; each mistake is one line naming the argument and the shape
// it should have. Adding a command is one entry in main.ts's COMMANDS; adding an option, one entry
// in OPTIONS and its name in the commands that take it.

import { parseArgs } from 'node:util';
import { isPairError, errorMessage } from '../core/errors.js';
import { parseCode } from '../core/codePhrase.js';
import {
  AGENT_SENDS_ENV,
  AGENT_SENDS_PER_PEER_PER_HOUR,
  AUTO_HANDOVERS_ENV,
  AUTO_HANDOVERS_PER_PEER_PER_HOUR,
  FINGERPRINT_PATTERN,
  HANDLE_PATTERN,
  LOSS_GRACE_MS,
  MAX_ENVELOPE_BYTES,
  MAX_TEXT_BYTES,
  MESSAGE_ID_PATTERN,
  PAIR_ID_PATTERN,
  PEER_RULES,
  normaliseRelayUrl,
  parseBudgetPerHour,
  parsePeerRule,
} from '../core/vocabulary.js';
import { EXEC_TIMEOUT_SECONDS, UsageError } from './usage.js';
import { RELAY_OPTIONS, type RelayOptionName, type RelayOptionSpec, type RelayOptionValues } from '../relay/options.js';
import { DEFAULT_RELAY_URL } from '../relay/embedded.js';

/** Every option's value once checked (absent options are undefined). */
export interface OptionValues {
  relay: string;
  handle: string;
  home: string;
  json: boolean;
  host: string;
  port: number;
  store: string;
  'trust-proxy': string[];
  data: unknown;
  'reply-to': string;
  file: string;
  wait: number;
  follow: boolean;
  'loss-grace': number;
  'confirm-sends': boolean;
  exec: string;
  'exec-timeout': number;
  'auto-handovers-per-hour': number;
  'agent-sends-per-hour': number;
}
export type OptionName = keyof OptionValues;

interface OptionSpec<T> {
  /** The value's placeholder in help (`--relay URL`); none for a flag. */
  placeholder?: string;
  help: string;
  /** Turns the text into the value or throws a UsageError naming the option and the shape. */
  parse: (text: string) => T;
}

const RELAY_SHAPE = `an http:// or https:// URL without ?, # or a password, like ${DEFAULT_RELAY_URL}`;
const HANDLE_SHAPE = '1 to 64 letters, digits, _ or -, like alice';

export const OPTIONS: { readonly [K in OptionName]: OptionSpec<OptionValues[K]> } = {
  relay: {
    placeholder: 'URL',
    help: `the relay to pair through (default ${DEFAULT_RELAY_URL}, started here if none answers); both people use the same one`,
    parse: (text) => {
      try {
        return normaliseRelayUrl(text);
      } catch (error) {
        if (!isPairError(error, 'bad_input')) throw error;
        // A URL with a password is not echoed: it may be one.
        throw new UsageError(`--relay ${text.includes('@') ? '(hidden)' : quoted(text)} is not a relay URL; expected ${RELAY_SHAPE}`);
      }
    },
  },
  handle: {
    placeholder: 'NAME',
    help: 'the handle peers see, for a new identity only: when this home has none yet (default: your login name); a home that has one keeps it, so another handle needs another --home',
    parse: (text) => {
      if (!HANDLE_PATTERN.test(text)) throw new UsageError(`--handle ${quoted(text)} is not a handle; expected ${HANDLE_SHAPE}`);
      return text;
    },
  },
  home: {
    placeholder: 'DIR',
    help: 'where the identity and pinned peers live (default $AGENT_PAIR_HOME, else ~/.agent-pair); a second DIR is a second person on one machine',
    parse: (text) => {
      if (text.trim() === '') throw new UsageError('--home is empty; expected a directory path, like /tmp/bob');
      return text;
    },
  },
  json: {
    help: 'one JSON object per line on stdout (for scripts); text for the person goes to stderr',
    parse: () => true,
  },
  // The relay's own options: one table with `node dist/relay.mjs` (relay/options.ts).
  host: relayOption('host'),
  port: relayOption('port'),
  store: relayOption('store'),
  'trust-proxy': relayOption('trust-proxy'),
  data: {
    placeholder: 'JSON',
    help: `send this JSON value as structured data for the other agent, instead of TEXT (the sealed message must fit the relay's ${MAX_ENVELOPE_BYTES / 1024} KiB envelope)`,
    parse: (text) => {
      try {
        return JSON.parse(text) as unknown;
      } catch {
        throw new UsageError(`--data is not JSON; expected a JSON value, like '{"tests":"pass"}'`);
      }
    },
  },
  file: {
    placeholder: 'PATH',
    help: `send the text in this UTF-8 file, instead of TEXT (at most ${MAX_TEXT_BYTES / 1024} KiB)`,
    parse: (text) => {
      if (text.trim() === '') throw new UsageError('--file is empty; expected the path of a text file, like notes.md');
      return text;
    },
  },
  'reply-to': {
    placeholder: 'ID',
    help: 'the id of the message this one answers (32 hex characters, as inbox prints it)',
    parse: (text) => hexId(text, MESSAGE_ID_PATTERN, `--reply-to ${quoted(text)} is not a message id; expected the 32 hex characters inbox printed`),
  },
  wait: {
    placeholder: 'SECONDS',
    help: 'wait this long for a message when none is there yet (default 0: just look)',
    parse: (text) => seconds(text, 'wait'),
  },
  follow: {
    help: 'keep printing messages as they come, until Ctrl-C',
    parse: () => true,
  },
  'loss-grace': {
    placeholder: 'SECONDS',
    help: `report a gap in a peer's message numbers as lost after this long (default ${LOSS_GRACE_MS / 1000}: the relay may still be delivering)`,
    parse: (text) => seconds(text, 'loss-grace'),
  },
  'confirm-sends': {
    help: 'ask the person (through the MCP client\'s prompt) before every message the agent sends',
    parse: () => true,
  },
  exec: {
    placeholder: 'CMD',
    help: 'with --follow: run the shell command CMD once per message from a peer whose rule is agent (see the rule command), one at a time, with the message as one JSON line on its stdin (as inbox --json prints it; never on its command line or in its environment); exit 0 marks it handled (the peer gets a receipt), anything else leaves it unread. CMD\'s own output goes to stderr',
    parse: (text) => {
      if (text.trim() === '') throw new UsageError('--exec is empty; expected a shell command, like \'./my-agent.sh\'');
      return text;
    },
  },
  'exec-timeout': {
    placeholder: 'SECONDS',
    help: `with --exec: stop CMD (its whole process group) after this long and leave the message unread (default ${EXEC_TIMEOUT_SECONDS})`,
    parse: (text) => {
      const value = seconds(text, 'exec-timeout');
      if (value === 0) throw new UsageError('--exec-timeout 0 would stop every command at once; expected more than 0 seconds, like 120');
      return value;
    },
  },
  'auto-handovers-per-hour': {
    placeholder: 'N',
    help: `hand at most N messages per agent-rule peer per hour to the agent on their own (default ${AUTO_HANDOVERS_PER_PEER_PER_HOUR}, env ${AUTO_HANDOVERS_ENV}); past it they wait unread for you`,
    parse: (text) => budget(text, 'auto-handovers-per-hour'),
  },
  'agent-sends-per-hour': {
    placeholder: 'N',
    help: `let the agent send at most N messages per peer per hour without you (default ${AGENT_SENDS_PER_PEER_PER_HOUR}, env ${AGENT_SENDS_ENV}); past it you are asked, or the send is refused where nobody can be asked`,
    parse: (text) => budget(text, 'agent-sends-per-hour'),
  },
};

function budget(text: string, option: string): number {
  try {
    return parseBudgetPerHour(text, `--${option}`);
  } catch (error) {
    if (isPairError(error, 'bad_input')) throw new UsageError(error.message.replace(/\.$/, ''));
    throw error;
  }
}

/** An option of `agent-pair relay` as relay/options.ts has it, its mistakes as UsageErrors. */
function relayOption<K extends RelayOptionName>(name: K): OptionSpec<RelayOptionValues[K]> {
  const spec = RELAY_OPTIONS[name] as RelayOptionSpec<RelayOptionValues[K]>;
  return {
    placeholder: spec.placeholder,
    help: spec.env === undefined ? spec.help : `${spec.help} (env ${spec.env})`,
    parse: (text) => {
      try {
        return spec.parse(text);
      } catch (error) {
        throw new UsageError(errorMessage(error));
      }
    },
  };
}

function seconds(text: string, option: string): number {
  const value = Number(text);
  if (text.trim() === '' || !Number.isFinite(value) || value < 0) throw new UsageError(`--${option} ${quoted(text)} is not a number of seconds; expected 0 or more, like 30`);
  return value;
}

/** A positional argument: its placeholder, what it is, and its check (which may normalise it). */
export interface ArgSpec {
  name: string;
  help: string;
  parse: (text: string) => string;
  /** Only the last argument may be optional (`send PEER [TEXT]`, where --data replaces TEXT). */
  optional?: true;
  /** The last argument may take the rest of the words, joined by spaces (an unquoted TEXT). */
  rest?: true;
}

export const ARGS = {
  code: {
    name: 'CODE',
    help: 'the code phrase the other person read out, like 47-UE2BZG',
    parse: (text) => {
      try {
        return parseCode(text).code;
      } catch (error) {
        // The message never repeats the input (it may be most of a secret) and names the shape.
        if (isPairError(error, 'bad_code')) throw new UsageError(error.message, 'bad_code');
        throw error;
      }
    },
  },
  sessionId: {
    name: 'SESSION',
    help: 'the session id the agent gave you (32 hex characters)',
    parse: (text) => hexId(text, PAIR_ID_PATTERN, `SESSION ${quoted(text)} is not a session id; expected the 32 hex characters the agent gave you`),
  },
  handle: {
    name: 'HANDLE',
    help: 'the name peers see next to your fingerprint',
    parse: (text) => {
      if (!HANDLE_PATTERN.test(text)) throw new UsageError(`HANDLE ${quoted(text)} is not a handle; expected ${HANDLE_SHAPE}`);
      return text;
    },
  },
  peer: {
    name: 'PEER',
    help: 'a pinned peer: its fingerprint, or its handle if no other peer shares it',
    parse: (text) => {
      if (!FINGERPRINT_PATTERN.test(text.trim().toLowerCase()) && !HANDLE_PATTERN.test(text)) {
        throw new UsageError(`PEER ${quoted(text)} is neither a fingerprint nor a handle; expected 16 hex characters or a handle like bob, as the peers command lists them`);
      }
      return FINGERPRINT_PATTERN.test(text.trim().toLowerCase()) ? text.trim().toLowerCase() : text;
    },
  },
  text: {
    name: 'TEXT',
    help: `the message (quote it; unquoted words are joined by spaces; - reads it from stdin), or --file PATH or --data JSON instead; text is at most ${MAX_TEXT_BYTES / 1024} KiB of UTF-8 and not empty`,
    optional: true,
    rest: true,
    parse: (text) => text,
  },
  shownRelayUrl: {
    name: 'RELAY_URL',
    help: 'the relay URL inbox showed for the move (optional: given, the answer holds only if the peer still asks for that address)',
    optional: true,
    parse: (text) => text.trim(),
  },
  messageId: {
    name: 'ID',
    help: 'a message id (32 hex characters), as send and sent print it',
    parse: (text) => hexId(text, MESSAGE_ID_PATTERN, `ID ${quoted(text)} is not a message id; expected the 32 hex characters send or sent printed`),
  },
  rule: {
    name: 'RULE',
    help: `what to do with the peer's messages: ${PEER_RULES.join(', ')} (notify: tell you, the default; agent: hand each to your agent on its own, within --auto-handovers-per-hour; mute: keep them quietly)`,
    optional: true,
    parse: (text) => {
      try {
        return parsePeerRule(text);
      } catch (error) {
        if (isPairError(error, 'bad_input')) throw new UsageError(`RULE ${quoted(text)} is not a rule; expected one of ${PEER_RULES.join(', ')}`);
        throw error;
      }
    },
  },
  fingerprint: {
    name: 'FINGERPRINT',
    help: 'a pinned peer\'s fingerprint, as the peers command lists it (16 hex characters)',
    parse: (text) => {
      const fingerprint = text.trim().toLowerCase();
      if (!FINGERPRINT_PATTERN.test(fingerprint)) throw new UsageError(`FINGERPRINT ${quoted(text)} is not a fingerprint; expected 16 hex characters, as the peers command lists them`);
      return fingerprint;
    },
  },
} satisfies Record<string, ArgSpec>;

/** An example in a command's help: the arguments after the command name, and why. */
export interface Example {
  args: string;
  why: string;
}

export interface CommandSpec {
  name: string;
  summary: string;
  args: readonly ArgSpec[];
  options: readonly OptionName[];
  examples: readonly Example[];
  /** More to say in the command's own help, one paragraph. */
  details?: string;
}

export type CommandLine<C extends CommandSpec> =
  | { kind: 'help'; text: string; exitCode: number }
  | { kind: 'version' }
  | { kind: 'run'; command: C; args: string[]; options: Partial<OptionValues> }
  | { kind: 'error'; error: UsageError; command?: C; json: boolean };

const ALL_OPTIONS = Object.keys(OPTIONS) as OptionName[];

/**
 * Reads argv against the command table: help and version first, then the command, its options
 * (each allowed for it and well-formed) and its arguments (count and shape). Pure: it only
 * reads and checks, so it runs before anything that has an effect.
 */
export function parseCommandLine<C extends CommandSpec>(argv: readonly string[], commands: readonly C[], invokedAs: string): CommandLine<C> {
  // strict: false with tokens: every token is judged here, in our words (Node's own messages
  // suggest `-- "--x"` with unbalanced quotes and never name the expected shape).
  const { tokens } = parseArgs({
    args: [...argv],
    strict: false,
    allowPositionals: true,
    tokens: true,
    options: {
      ...Object.fromEntries(ALL_OPTIONS.map((name) => [name, { type: OPTIONS[name].placeholder === undefined ? 'boolean' : 'string' }] as const)),
      help: { type: 'boolean', short: 'h' },
      version: { type: 'boolean' },
    },
  });
  const positionals: string[] = [];
  const seen: { name: string; value: string | undefined; raw: string }[] = [];
  for (const token of tokens) {
    if (token.kind === 'positional') positionals.push(token.value);
    else if (token.kind === 'option') seen.push({ name: token.name, value: token.value, raw: token.rawName });
  }
  const json = seen.some((option) => option.name === 'json');
  const [commandName, ...args] = positionals;
  const command = commands.find((entry) => entry.name === commandName);
  const wantsHelp = seen.some((option) => option.name === 'help');

  if (commandName === undefined) {
    if (seen.some((option) => option.name === 'version')) return { kind: 'version' };
    const stray = seen.find((option) => option.name !== 'help' && option.name !== 'json');
    if (stray) {
      const problem = stray.name in OPTIONS ? `${stray.raw} needs a command first, like ${invokedAs} host ${stray.raw}` : `unknown option ${stray.raw}`;
      return { kind: 'error', error: new UsageError(`${problem}; run ${invokedAs} --help for the list`), json };
    }
    return { kind: 'help', text: overviewHelp(commands, invokedAs), exitCode: wantsHelp ? 0 : 2 };
  }
  if (commandName === 'help') {
    const topic = commands.find((entry) => entry.name === args[0]);
    if (args[0] !== undefined && !topic) return { kind: 'error', error: unknownCommand(args[0], invokedAs), json };
    return { kind: 'help', text: topic ? commandHelp(topic, invokedAs) : overviewHelp(commands, invokedAs), exitCode: 0 };
  }
  if (!command) return { kind: 'error', error: unknownCommand(commandName, invokedAs), json };
  if (wantsHelp) return { kind: 'help', text: commandHelp(command, invokedAs), exitCode: 0 };

  const fail = (message: string, code?: string): CommandLine<C> => ({
    kind: 'error',
    error: new UsageError(`${message.replace(/\.$/, '')}; see ${invokedAs} ${command.name} --help`, code),
    command,
    json,
  });
  try {
    const options: Partial<Record<OptionName, unknown>> = {};
    for (const option of seen) {
      const name = option.name as OptionName;
      if (!(name in OPTIONS)) {
        return fail(option.name === 'version' ? `--version takes no command (run ${invokedAs} --version)` : `unknown option ${option.raw}`);
      }
      if (!command.options.includes(name)) return fail(`${command.name} does not take ${option.raw}`);
      const spec: OptionSpec<unknown> = OPTIONS[name];
      if (spec.placeholder === undefined && option.value !== undefined) return fail(`${option.raw} takes no value`);
      if (spec.placeholder !== undefined && option.value === undefined) return fail(`${option.raw} needs a value: ${option.raw} ${spec.placeholder}`);
      if (name in options) return fail(`${option.raw} is given twice`);
      options[name] = spec.parse(option.value ?? '');
    }
    const required = command.args.filter((arg) => arg.optional !== true).length;
    if (command.args.at(-1)?.rest === true && args.length > command.args.length) {
      args.splice(command.args.length - 1, args.length, args.slice(command.args.length - 1).join(' '));
    }
    if (args.length < required || args.length > command.args.length) {
      if (command.args.length === 0) return fail(`${command.name} takes no arguments, only options (got ${quoted(args.join(' '))})`);
      const wanted = command.args.map((arg) => `${arg.name} (${arg.help})`).join(' ');
      return fail(args.length < required ? `${command.name} needs ${wanted}` : `${command.name} takes only ${wanted}, got ${args.length} arguments`);
    }
    const checked = args.map((text, index) => command.args[index]?.parse(text) ?? text);
    return { kind: 'run', command, args: checked, options: options as Partial<OptionValues> };
  } catch (error) {
    if (error instanceof UsageError) return fail(error.message, error.code);
    throw error;
  }
}

function unknownCommand(name: string, invokedAs: string): UsageError {
  return new UsageError(`unknown command ${quoted(name)}; run ${invokedAs} --help for the list`);
}

/** An id as typed (spaces around it, upper-case hex taken), lower-cased; `mistake` is the usage error's line otherwise. */
function hexId(text: string, pattern: RegExp, mistake: string): string {
  const id = text.trim().toLowerCase();
  if (!pattern.test(id)) throw new UsageError(mistake);
  return id;
}

function quoted(text: string): string {
  return JSON.stringify(text.length > 80 ? `${text.slice(0, 80)}…` : text);
}

// -- Help -----------------------------------------------------------------------------------

function argumentNames(command: CommandSpec): string {
  return command.args.map((arg) => (arg.optional ? ` [${arg.name}]` : ` ${arg.name}`)).join('');
}

function synopsis(command: CommandSpec, invokedAs: string): string {
  const args = argumentNames(command);
  const options = command.options.map((name) => {
    const placeholder = OPTIONS[name].placeholder;
    return ` [--${name}${placeholder === undefined ? '' : ` ${placeholder}`}]`;
  });
  return `${invokedAs} ${command.name}${args}${options.join('')}`;
}

function table(rows: readonly (readonly [string, string])[]): string {
  const width = Math.max(...rows.map(([left]) => left.length)) + 3;
  return rows.map(([left, right]) => `  ${left.padEnd(width)}${right}`).join('\n');
}

export function commandHelp(command: CommandSpec, invokedAs: string): string {
  const sections = [`Usage: ${synopsis(command, invokedAs)}`, `${command.summary}.${command.details === undefined ? '' : ` ${command.details}`}`];
  if (command.args.length > 0) sections.push(`Arguments:\n${table(command.args.map((arg) => [arg.name, arg.help]))}`);
  const options = command.options.map((name): [string, string] => {
    const { placeholder, help } = OPTIONS[name];
    return [`--${name}${placeholder === undefined ? '' : ` ${placeholder}`}`, help];
  });
  sections.push(`Options:\n${table([...options, ['-h, --help', 'show this help']])}`);
  sections.push(`Examples:\n${command.examples.map((example) => `  ${invokedAs} ${command.name}${example.args === '' ? '' : ` ${example.args}`}\n      ${example.why}`).join('\n')}`);
  return `${sections.join('\n\n')}\n`;
}

export function overviewHelp(commands: readonly CommandSpec[], invokedAs: string): string {
  return `${invokedAs}: pair two people's coding agents by identity.

Usage: ${invokedAs} COMMAND [ARGUMENTS] [OPTIONS]

Commands:
${table(commands.map((command) => [`${command.name}${argumentNames(command)}`, command.summary]))}

Run ${invokedAs} COMMAND --help for a command's options and examples, ${invokedAs} --version for the version.

A first try on one machine, in two terminals:
  ${invokedAs} host --home /tmp/alice --handle alice
  ${invokedAs} join CODE --home /tmp/bob --handle bob
`;
}
