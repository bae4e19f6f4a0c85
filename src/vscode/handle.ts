// The handle a person picks for their identity: what the input box suggests and how it checks
// what is typed as it is typed. Pure, so it is tested without VS Code.

import { HANDLE_PATTERN } from '../core/identity.js';

const MAX_HANDLE_CHARS = 64;
const FALLBACK_HANDLE = 'agent';

/**
 * A handle from a name that may not fit the pattern (an OS user name like `jane.doe` or
 * `DOMAIN\\Jane Doe`): a domain prefix dropped, spaces and dots as `-`, other characters
 * dropped, at most 64 characters; `agent` if nothing is left.
 */
export function sanitiseHandle(name: string): string {
  const withoutDomain = name.includes('\\') ? name.slice(name.lastIndexOf('\\') + 1) : name;
  const handle = withoutDomain
    .trim()
    .replace(/[\s.]+/g, '-')
    .replace(/[^A-Za-z0-9_-]/g, '')
    .replace(/-{2,}/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, MAX_HANDLE_CHARS);
  return handle === '' ? FALLBACK_HANDLE : handle;
}

/** Undefined if `text` is a valid handle, else what is wrong with it, for the input box. */
export function handleProblem(text: string): string | undefined {
  if (HANDLE_PATTERN.test(text)) return undefined;
  if (text === '') return 'Type a handle: the name your peers will see, like alice.';
  if (text.length > MAX_HANDLE_CHARS) return `A handle has at most ${MAX_HANDLE_CHARS} characters (this one has ${text.length}).`;
  const bad = [...new Set(text.replace(/[A-Za-z0-9_-]/g, ''))].map((character) => (character === ' ' ? 'space' : `"${character}"`)).join(', ');
  return `A handle may use only letters, digits, "_" and "-" (not ${bad}).`;
}
