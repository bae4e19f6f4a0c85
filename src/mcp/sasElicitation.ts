// pair_confirm's question to the person over MCP elicitation: it shows them their SAS and takes
// the digits the other person reads out, asking again (up to MAX_DIGIT_PROMPTS) when the answer
// was not six digits, and withdraws the question once the pairing moves on for another reason.
// The agent never sees the SAS or the digits: they travel between the client's prompt and the
// pairing runner's question only.

import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { ErrorCode as RpcErrorCode, McpError } from '@modelcontextprotocol/sdk/types.js';
import { PairError } from '../core/errors.js';
import type { PairingRunners } from '../core/pairing.js';
import type { Clock } from '../core/ports.js';
import type { SessionStore } from '../core/store.js';
import { MCP_WORDS } from './words.js';

/** A person who types something that is not 6 digits is asked again, this many times in one pair_confirm. */
export const MAX_DIGIT_PROMPTS = 3;

export interface SasElicitationOptions {
  server: McpServer;
  runners: PairingRunners;
  store: SessionStore;
  clock: Clock;
  /** The command line the person runs to confirm in a terminal instead (`agent-pair confirm ID`). */
  confirmCommand: (sessionId: string) => string;
}

/**
 * The question for one pairing, as a function pair_confirm awaits: it brings the person's answer
 * to the runner's question and resolves once the state left `sas_ready`; `signal` aborts once it
 * did for another reason (the peer aborted), which withdraws the elicitation.
 */
export function sasElicitation(options: SasElicitationOptions): (sessionId: string, signal: AbortSignal) => Promise<void> {
  const { server, runners, store, clock, confirmCommand } = options;

  /** The runner's question for a `sas_ready` session once it is open (undefined if the session moved on). */
  const untilQuestion = async (id: string, signal: AbortSignal): Promise<ReturnType<PairingRunners['questions']['question']>> => {
    runners.run(id);
    while (store.status(id).state === 'sas_ready' && !signal.aborted) {
      const question = runners.questions.question(id);
      if (question) return question;
      await runners.waitForChange(id, 'sas_ready', Math.max(1, Date.parse(store.status(id).expiresAt) - clock.now()), signal);
    }
    return undefined;
  };

  /** One elicitation; undefined when the answer failed the schema (the caller asks again). */
  const elicitDigits = async (id: string, nameplate: string, sas: string, again: boolean, expiresAt: number, signal: AbortSignal): Promise<string | undefined> => {
    const secondsLeft = Math.max(1, Math.ceil((expiresAt - clock.now()) / 1000));
    let answer;
    try {
      answer = await server.server.elicitInput({
        mode: 'form',
        message: MCP_WORDS.elicitation(nameplate, sas, again),
        requestedSchema: {
          type: 'object',
          properties: { digits: { type: 'string', title: 'Digits the other person reads out', description: '6 digits, like 594-376', minLength: 6, maxLength: 9 } },
          required: ['digits'],
        },
      }, { signal, timeout: secondsLeft * 1000 });
    } catch (error) {
      if (error instanceof McpError && error.code === (RpcErrorCode.InvalidParams as number)) return undefined; // the answer failed the schema
      if (error instanceof McpError && error.code === (RpcErrorCode.RequestTimeout as number)) throw new PairError('timeout', MCP_WORDS.noAnswerInTime, { cause: error });
      if (signal.aborted) throw new PairError('cancelled', MCP_WORDS.callCancelled, { cause: error });
      throw new PairError('confirm_unavailable', MCP_WORDS.elicitFailed(confirmCommand(id)), { cause: error });
    }
    if (answer.action !== 'accept') throw new PairError('cancelled', MCP_WORDS.declined);
    const digits = answer.content?.['digits'];
    return typeof digits === 'string' ? digits : undefined;
  };

  /**
   * Brings the person's answer to the runner's question: an elicitation shows them their SAS and
   * takes the digits; if the runner asks again (not six digits), so does this, up to
   * MAX_DIGIT_PROMPTS. Resolves once the state left `sas_ready`; `signal` aborts once it did
   * for another reason (the peer aborted), which withdraws the elicitation.
   */
  return async function elicitUntilAnswered(id: string, signal: AbortSignal): Promise<void> {
    if (!server.server.getClientCapabilities()?.elicitation) throw new PairError('confirm_unavailable', MCP_WORDS.noElicitation(confirmCommand(id)));
    for (let attempt = 1; attempt <= MAX_DIGIT_PROMPTS; attempt++) {
      const question = runners.questions.question(id) ?? (await untilQuestion(id, signal));
      if (!question) return; // the session moved on
      const digits = await elicitDigits(id, question.nameplate, question.sas, question.again || attempt > 1, question.expiresAt, signal);
      if (digits !== undefined && runners.questions.answer(id, digits)) {
        const after = await runners.waitForChange(id, 'sas_ready', Math.max(0, question.expiresAt - clock.now()), signal);
        if (after.state !== 'sas_ready') return;
      }
    }
    throw new PairError('bad_input', MCP_WORDS.notSixDigitsTooOften(MAX_DIGIT_PROMPTS));
  };
}
