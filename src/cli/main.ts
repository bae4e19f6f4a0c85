// `agent-pair`: argv in, one command out. No protocol logic lives here: every command is a thin
// call into the core (sessions, identity, trust), the relay, or the MCP server.
//
// Start-up: this module is the whole of dist/cli.cjs, one file with nothing else imported: the
// command table, the command line's checks and the help, so `--version`, `--help` and a wrong
// command line answer without loading anything more (esbuild.mjs builds it on its own). A
// command that runs is handed to its group (GROUP_OF: src/cli/groups/*.ts), one more file
// (dist/cli-GROUP.cjs) holding that group's commands and all they use, and importing nothing of
// ours: every file loaded is a round of reads and a compile. The group is compiled through V8's
// code cache (groupBundles.ts), kept once the command is over. No object made here is used
// there, so the two builds' copies of the small modules both import (errors, vocabulary) never
// meet.

import packageJson from '../../package.json' with { type: 'json' };
import { AUTO_HANDOVERS_PER_PEER_PER_HOUR, MAX_ENVELOPE_BYTES, MAX_TEXT_BYTES, PEER_RULES } from '../core/vocabulary.js';
import { ARGS, type CommandSpec, parseCommandLine } from './commandLine.js';
import { invokedAs } from './invocation.js';
import { loadGroup } from './groupModules.js';
import { EXIT_FAILED, EXIT_OUTPUT_CLOSED, EXIT_USAGE } from './usage.js';
import { DEFAULT_RELAY_HOST, DEFAULT_RELAY_PORT } from '../relay/embedded.js';

/** Every command: its help, its arguments and options (checked before it runs). What each does is in its group's RUNS (GROUP_OF). */
export const COMMANDS = [
  {
    name: 'host',
    summary: 'Host a pairing: print a code phrase to read out, then verify the SAS the other person reads back',
    args: [],
    options: ['relay', 'handle', 'home', 'json'],
    examples: [
      { args: '', why: 'pair through the local relay (started here if none runs); the other person is on this machine' },
      { args: '--relay https://relay.example.com', why: 'pair through a relay both people can reach' },
      { args: '--home /tmp/alice --handle alice', why: 'a first try on one machine: one identity per --home' },
    ],
  },
  {
    name: 'join',
    summary: 'Join a pairing with the code phrase the other person read out, then verify the SAS',
    args: [ARGS.code],
    options: ['relay', 'handle', 'home', 'json'],
    examples: [
      { args: '47-UE2BZG', why: 'join through the local relay' },
      { args: '47-UE2BZG --relay https://relay.example.com', why: 'join through the relay the host named' },
      { args: '47-UE2BZG --home /tmp/bob --handle bob', why: 'the second person of a one-machine try' },
    ],
  },
  {
    name: 'confirm',
    summary: 'Verify the SAS of a pairing your agent started over MCP',
    details: 'The agent never sees the SAS; it gives you this command with the session id, and you type the digits the other person reads out. When no agent-pair mcp server runs the pairing (a client that starts one per call), confirm runs it itself until the peer is pinned; Ctrl-C then cancels it and tells the other side.',
    args: [ARGS.sessionId],
    options: ['home', 'json'],
    examples: [{ args: '0f3c9a1e5b7d4c2a8e6f1b3d5a7c9e0f', why: 'the session id your agent printed' }],
  },
  {
    name: 'sessions',
    summary: 'List your agents\' pairings (run by their MCP servers, or abandoned when no process runs them), with their session ids',
    args: [],
    options: ['home', 'json'],
    examples: [
      { args: '', why: 'the session id to give the confirm command' },
      { args: '--home /tmp/bob', why: 'the pairings of an agent whose server uses another home' },
    ],
  },
  {
    name: 'whoami',
    summary: 'Show this identity: handle and fingerprint',
    args: [],
    options: ['home', 'json'],
    examples: [
      { args: '', why: 'the identity in ~/.agent-pair' },
      { args: '--home /tmp/bob --json', why: 'another home, as JSON' },
    ],
  },
  {
    name: 'init',
    summary: 'Set up this identity with a handle (does nothing if it exists with that handle)',
    details: 'host and join set one up on first use with your login name (or --handle), so init is optional.',
    args: [ARGS.handle],
    options: ['relay', 'home', 'json'],
    examples: [
      { args: 'alice', why: 'create the identity alice in ~/.agent-pair' },
      { args: 'bob --home /tmp/bob', why: 'a second identity on this machine' },
    ],
  },
  {
    name: 'peers',
    summary: 'List the peers pinned by pairing',
    args: [],
    options: ['home', 'json'],
    examples: [{ args: '', why: 'fingerprint, handle, rule and when each was pinned' }],
  },
  {
    name: 'rule',
    summary: `Show or set what happens with a peer's messages: ${PEER_RULES.join(', ')}`,
    details:
      'notify (the default) tells you of each message; agent hands each message to your running agent on its own (a Claude Code channel, an MCP client that subscribes, inbox --follow --exec, VS Code Chat), ' +
      `at most --auto-handovers-per-hour per peer (default ${AUTO_HANDOVERS_PER_PEER_PER_HOUR}), the rest waiting for you; mute keeps them quietly. Only you set a rule: no agent tool can.`,
    args: [ARGS.peer, ARGS.rule],
    options: ['home', 'json'],
    examples: [
      { args: 'bob', why: 'print bob\'s rule' },
      { args: 'bob agent', why: 'let bob\'s messages reach your agent without you relaying them' },
      { args: '3f2a9c0d1e4b5a68 mute', why: 'keep a peer\'s messages without being told of each' },
    ],
  },
  {
    name: 'forget',
    summary: 'Unpin a peer and revoke its access to your inbox',
    args: [ARGS.peer],
    options: ['home', 'json'],
    examples: [
      { args: 'bob', why: 'a handle, as send takes it' },
      { args: '3f2a9c0d1e4b5a68', why: 'a fingerprint from the peers command (when two peers share a handle)' },
    ],
  },
  {
    name: 'send',
    summary: 'Send a message to a pinned peer, end-to-end encrypted',
    details: `It returns once the peer's relay stored the message; it is delivered once their side has shown it to them (inbox then prints the receipt). A text is at most ${MAX_TEXT_BYTES / 1024} KiB of UTF-8 and not empty or only spaces; --data JSON is sealed into an envelope of at most ${MAX_ENVELOPE_BYTES / 1024} KiB.`,
    args: [ARGS.peer, ARGS.text],
    options: ['file', 'data', 'reply-to', 'home', 'json'],
    examples: [
      { args: 'bob "the tests pass on my side" --home /tmp/alice', why: 'a text for the person or agent on the other side (from the first pairing\'s alice)' },
      { args: 'bob --file notes.md', why: 'a longer text from a file' },
      { args: 'bob - < notes.md', why: 'the text from standard input' },
      { args: 'bob --data \'{"pr":12,"status":"green"}\'', why: 'structured data for the other agent' },
      { args: '3f2a9c0d1e4b5a68 "yes" --reply-to 5f1c2a9b0d3e4f60718293a4b5c6d7e8', why: 'answer a message, naming the peer by fingerprint' },
    ],
  },
  {
    name: 'inbox',
    summary: 'Print new messages from your peers, mark them handled and send the receipts',
    details:
      'It also reports receipts for what you sent, envelopes dropped because they failed a check, and messages the relay may have lost. ' +
      'With --follow, messages from peers whose rule is mute are kept quietly (inbox without --follow lists them). ' +
      '--exec wires your own agent: each message from a peer whose rule is agent (set with the rule command: you choose who may reach your agent) runs CMD, one at a time, ' +
      'within --auto-handovers-per-hour per peer; past it, and whenever CMD fails, hangs or crashes, the message waits unread for you. Messages from notify peers are printed as usual.',
    args: [],
    options: ['wait', 'follow', 'exec', 'exec-timeout', 'auto-handovers-per-hour', 'loss-grace', 'home', 'json'],
    examples: [
      { args: '', why: 'what arrived since the last look' },
      { args: '--wait 30', why: 'wait up to 30 s for a message when none is there yet' },
      { args: '--follow --json', why: 'one JSON event per line as messages come, until Ctrl-C' },
      { args: '--follow --exec \'./answer.sh\'', why: 'hand each message from an agent-rule peer to your script, as JSON on its stdin' },
    ],
  },
  {
    name: 'sent',
    summary: 'List the messages you sent, with what became of each: queued, sent, delivered, failed or cancelled',
    details: 'A message the peer\'s relay refused for now (full, busy, unreachable) is queued and sent again with the next send or inbox, for up to 7 days; cancel takes it back.',
    args: [{ ...ARGS.peer, optional: true }],
    options: ['home', 'json'],
    examples: [
      { args: '', why: 'everything you sent, oldest first' },
      { args: 'bob --json', why: 'what you sent to bob, one JSON line each' },
    ],
  },
  {
    name: 'cancel',
    summary: 'Take back a queued message before its relay takes it',
    args: [ARGS.messageId],
    options: ['home', 'json'],
    examples: [{ args: '5f1c2a9b0d3e4f60718293a4b5c6d7e8', why: 'an id the sent command lists as queued' }],
  },
  {
    name: 'accept-move',
    summary: 'Send to a peer at the other relay it asked to move to (inbox lists such requests)',
    details: 'A peer\'s move to another relay is held until you accept it: it makes this side send to an address the peer chose.',
    args: [ARGS.peer, ARGS.shownRelayUrl],
    options: ['home', 'json'],
    examples: [{ args: 'bob https://relay.example.com', why: 'bob moved to a relay you both use now' }],
  },
  {
    name: 'refuse-move',
    summary: 'Keep sending to a peer where you did before, refusing its move to another relay',
    args: [ARGS.peer],
    options: ['home', 'json'],
    examples: [{ args: 'bob', why: 'you did not expect bob to move' }],
  },
  {
    name: 'relay',
    summary: 'Run a relay until Ctrl-C',
    details: 'The relay is untrusted by design: it never sees the code\'s secret, the SAS or the key. Put it behind a TLS proxy to use it over the internet.',
    args: [],
    options: ['host', 'port', 'store', 'trust-proxy'],
    examples: [
      // Not the local relay that host, send, inbox and mcp start: that one keeps a SQLite file; this one forgets on exit.
      { args: '', why: `a relay on ${DEFAULT_RELAY_HOST}:${DEFAULT_RELAY_PORT} in memory, to try things: a restart forgets its inboxes (add --store sqlite:PATH to keep them)` },
      { args: '--host 0.0.0.0 --port 8771 --store sqlite:relay.sqlite', why: 'a relay people on other machines can reach, keeping inboxes and queued messages in a file across restarts' },
      { args: '--store redis://127.0.0.1:6379/0 --trust-proxy 127.0.0.1', why: 'one of several relay processes behind a TLS proxy, sharing Redis' },
    ],
  },
  {
    name: 'mcp',
    summary: 'Run the MCP server on stdio, for MCP clients outside VS Code (Claude Code, Cursor, the MCP Inspector)',
    details:
      'The agent gets tools to host, join and finalize pairings; it never sees the SAS. The person confirms it through the client\'s prompt, or with the confirm command. ' +
      'While it runs it receives: each message from a peer whose rule is agent is pushed to the client (a claude/channel notification for Claude Code, resources/updated for clients that subscribe to agent-pair://inbox), within --auto-handovers-per-hour per peer. ' +
      'The agent may send at most --agent-sends-per-hour messages per peer without you; past it you are asked, or the send is refused.',
    args: [],
    options: ['relay', 'confirm-sends', 'agent-sends-per-hour', 'auto-handovers-per-hour', 'home'],
    examples: [
      { args: '', why: 'what an MCP client runs (give it the absolute path of dist/cli.cjs)' },
      { args: '--relay https://relay.example.com', why: 'pair through a shared relay' },
      { args: '--confirm-sends', why: 'ask you before every message the agent sends to a peer' },
    ],
  },
] as const satisfies readonly CommandSpec[];

export type CommandName = (typeof COMMANDS)[number]['name'];

/**
 * The group of each command: a group's commands share most of their code (the stores, the relay
 * client, the pairing runner, the MCP SDK), so each group is built into one file with all of it,
 * and a command loads that file alone.
 */
const GROUP_OF = {
  peers: 'home',
  whoami: 'home',
  host: 'pairing',
  join: 'pairing',
  confirm: 'pairing',
  sessions: 'pairing',
  init: 'messaging',
  rule: 'messaging',
  forget: 'messaging',
  send: 'messaging',
  inbox: 'messaging',
  sent: 'messaging',
  cancel: 'messaging',
  'accept-move': 'messaging',
  'refuse-move': 'messaging',
  relay: 'relay',
  mcp: 'mcp',
} as const satisfies Record<CommandName, string>;

export type CommandGroup = (typeof GROUP_OF)[CommandName];
/** The commands of `Group`: the keys its RUNS table must have, and no others. */
export type CommandsOf<Group extends CommandGroup> = { [Name in CommandName]: (typeof GROUP_OF)[Name] extends Group ? Name : never }[CommandName];

/**
 * The status an output that failed under one of main's own answers (the version, help, a wrong
 * command line) gives the process: 141 for one its reader closed early (`--help | head -1`), as
 * run.ts gives a command's, else 1. Undefined while the outputs are fine.
 */
let outputFailedStatus: number | undefined;

/** Writes one of main's own answers; a failed write ends the process with its status and at most a line, not a stack trace. */
function answer(stream: NodeJS.WriteStream, text: string): void {
  if (stream.listenerCount('error') === 0) {
    stream.on('error', (error: NodeJS.ErrnoException) => {
      if (outputFailedStatus !== undefined) return;
      outputFailedStatus = error.code === 'EPIPE' ? EXIT_OUTPUT_CLOSED : EXIT_FAILED;
      process.exitCode = outputFailedStatus;
      // As run.ts says it for a command: a reader leaving is no failure, a full disk is.
      if (error.code !== 'EPIPE' && stream === process.stdout) process.stderr.write(`agent-pair: could not write to standard output (${error.code ?? error.message}).\n`);
    });
  }
  stream.write(text);
}

export async function main(argv: string[]): Promise<number> {
  const line = parseCommandLine(argv, COMMANDS, invokedAs());
  switch (line.kind) {
    case 'version':
      answer(process.stdout, `${packageJson.version}\n`);
      return 0;
    case 'help':
      answer(line.exitCode === 0 ? process.stdout : process.stderr, line.text);
      return line.exitCode;
    case 'error':
      if (line.json) answer(process.stdout, `${JSON.stringify({ event: 'error', code: line.error.code, message: line.error.message })}\n`);
      answer(process.stderr, `agent-pair: ${line.error.message}\n`);
      return EXIT_USAGE;
    case 'run': {
      const group = await loadGroup(GROUP_OF[line.command.name], line.command.name);
      const exitCode = await group.run(line.command, line.args, line.options);
      group.saveCodeCache();
      return exitCode;
    }
  }
}

// The bundle is CommonJS (esbuild.mjs), so no top-level await; a rejection ends the process as one.
void main(process.argv.slice(2)).then((exitCode) => {
  process.exitCode = outputFailedStatus ?? exitCode;
});
