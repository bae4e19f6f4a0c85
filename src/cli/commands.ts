// The command table: every `agent-pair` command, its help, its arguments and options, as
// parseCommandLine (commandLine.ts) checks a command line against it. A module of its own, beside
// main.ts (which bundles it into dist/cli.cjs), so the tests can check command lines and help
// against the same table in their own process, without starting the CLI.

import { AUTO_HANDOVERS_PER_PEER_PER_HOUR, MAX_ENVELOPE_BYTES, MAX_TEXT_BYTES, PEER_RULES } from '../core/vocabulary.js';
import { ARGS, type CommandSpec } from './commandLine.js';
import { DEFAULT_RELAY_HOST, DEFAULT_RELAY_PORT } from '../relay/embedded.js';

/** Every command: its help, its arguments and options (checked before it runs). What each does is in its group's RUNS (main.ts GROUP_OF). */
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
