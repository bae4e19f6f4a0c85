// Checking a code phrase as the person types it. While what is typed can still grow into a valid
// code (`47`, `47-UE2`) the hint is informational; once it cannot, it is an error. Pure.

import { parseCode } from '../core/codePhrase.js';
import { isPairError } from '../core/errors.js';

export interface CodeInputProblem {
  message: string;
  /** `info` while the input is an unfinished code, `error` once it cannot become one. */
  severity: 'info' | 'error';
}

const UNFINISHED_CODE = /^\s*(?:[1-9][0-9]*(?:[- ][A-Za-z2-7]{0,5})?)?$/;

export function codeInputProblem(text: string): CodeInputProblem | undefined {
  try {
    parseCode(text);
    return undefined;
  } catch (error) {
    if (!isPairError(error)) throw error;
    if (text.trim() === '') return { message: 'A number, a dash and 6 letters or digits, like 47-UE2BZG.', severity: 'info' };
    return { message: error.message, severity: UNFINISHED_CODE.test(text) ? 'info' : 'error' };
  }
}
