// What VS Code says about the shared local relay (node/localRelay.ts reports events and failures
// as data): the log lines, and the errors, which name this extension's setting agentPair.relayUrl.

import type { LocalRelayEvent, RelayChoiceFailure } from '../node/localRelay.js';

/** `10 minutes`, `1 minute`, `90 s`. */
export function formatMinutes(seconds: number): string {
  if (seconds % 60 !== 0) return `${seconds} s`;
  const minutes = seconds / 60;
  return `${minutes} minute${minutes === 1 ? '' : 's'}`;
}

/** One line of the Agent Pair log. */
export function localRelayLogLine(event: LocalRelayEvent): string {
  switch (event.type) {
    case 'using':
      return event.process
        ? `Using the local relay at ${event.url} (pid ${event.process.pid}, started by a window at ${event.process.startedAt}).`
        : `Using the local relay at ${event.url}, run by another process.`;
    case 'starting':
      return `Starting the local relay at ${event.url} in a process of its own${event.pid === undefined ? '' : ` (pid ${event.pid})`}.`;
    case 'started':
      return `Started the local relay at ${event.url} (pid ${event.process.pid}) in ${event.ms} ms; it outlives this window and exits after ${formatMinutes(event.idleExitSeconds)} with no pairing in flight.`;
    case 'startedByOther':
      return `Using the local relay at ${event.url}, started meanwhile by another ${event.process ? 'window' : 'process'}.`;
    case 'stopped':
      return `Stopped the local relay at ${event.process.url} (pid ${event.process.pid}).`;
  }
}

/** The error the person reads when the relay could not be chosen or started. */
export function relayChoiceFailureWords(failure: RelayChoiceFailure): string {
  switch (failure.reason) {
    case 'bad_configured_url':
      return 'The setting agentPair.relayUrl is not a relay URL; expected an http:// or https:// URL like https://relay.example.com, or empty for the local relay.';
    case 'state_dir':
      return `No relay answers at ${failure.url}, and the local relay could not be started: its state directory ${failure.stateDir} could not be created (${failure.detail}).`;
    case 'process_ended':
      return `No relay answers at ${failure.url}, and the local relay process could not start there (${failure.detail}). If another program holds port ${failure.port}, free it, or set agentPair.relayUrl to a relay.`;
    case 'no_answer':
      return `The local relay process did not answer at ${failure.url} within ${failure.waitedMs / 1000} s. Try again, or run a relay yourself (agent-pair relay) or set agentPair.relayUrl to one.`;
  }
}
