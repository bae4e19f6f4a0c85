// How the handle input box checks what is typed as it is typed. Pure, so it is tested without
// VS Code. (What it suggests is sanitiseHandle of the login name, in core/vocabulary.ts.)

import { HANDLE_PATTERN, MAX_HANDLE_CHARS } from '../core/vocabulary.js';

/** Undefined if `text` is a valid handle, else what is wrong with it, for the input box. */
export function handleProblem(text: string): string | undefined {
  if (HANDLE_PATTERN.test(text)) return undefined;
  if (text === '') return 'Type a handle: the name your peers will see, like alice.';
  if (text.length > MAX_HANDLE_CHARS) return `A handle has at most ${MAX_HANDLE_CHARS} characters (this one has ${text.length}).`;
  const bad = [...new Set(text.replace(/[A-Za-z0-9_-]/g, ''))].map((character) => (character === ' ' ? 'space' : `"${character}"`)).join(', ');
  return `A handle may use only letters, digits, "_" and "-" (not ${bad}).`;
}
