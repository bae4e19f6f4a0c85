// Bytes from a peer are hostile input (a paired peer is still a stranger): this module bounds
// them before anything recursive touches them and quotes them for whoever reads them. Pure
// functions, shared by the core's checks and every adapter's rendering.
//
//   checkJsonNesting(text, max)  throws if JSON text nests deeper than `max` (a scan, no recursion)
//   jsonQuote(value)             JSON.stringify for an agent or a JSON-lines reader: U+2028,
//                                U+2029 and U+0085 escaped too, so no line splitter cuts it,
//                                and invisible characters, so none carries unseen text
//   showControls(text)           control characters (C0 but newline and tab, DEL, C1, line and
//                                bidi controls) and invisible characters as visible escapes for
//                                a terminal or a native UI
//   isRelayUrlShape(url)         PROTOCOL.md 6.2: http(s), no userinfo, query or fragment, ASCII

/**
 * The deepest nesting a received message's JSON may have: the message (1), its body (2) and up
 * to 62 levels of `data`. Checked on the text before JSON.parse, since JSON.stringify, canonical
 * JSON and every renderer recurse.
 */
export const MAX_JSON_NESTING = 64;
/** The longest relay URL accepted from a peer (a bootstrap or an `inbox` move). */
export const MAX_RELAY_URL_CHARS = 2048;

export class JsonTooDeep extends Error {
  override readonly name = 'JsonTooDeep';
}

/** Throws JsonTooDeep when `text` opens more than `max` arrays or objects inside each other. */
export function checkJsonNesting(text: string, max: number = MAX_JSON_NESTING): void {
  let depth = 0;
  let inString = false;
  for (let index = 0; index < text.length; index++) {
    const code = text.charCodeAt(index);
    if (inString) {
      if (code === 0x5c) index++; // a backslash: the next character is escaped
      else if (code === 0x22) inString = false;
      continue;
    }
    if (code === 0x22) inString = true;
    else if (code === 0x5b || code === 0x7b) {
      if (++depth > max) throw new JsonTooDeep(`JSON nests deeper than ${max} levels`);
    } else if (code === 0x5d || code === 0x7d) depth--;
  }
}

/** The nesting of a JavaScript value as JSON, without recursion; stops counting past `max`. */
export function jsonNesting(value: unknown, max: number = MAX_JSON_NESTING): number {
  let deepest = 0;
  const stack: { value: unknown; depth: number }[] = [{ value, depth: 0 }];
  while (stack.length > 0) {
    const { value: current, depth } = stack.pop() as { value: unknown; depth: number };
    if (typeof current !== 'object' || current === null) continue;
    const level = depth + 1;
    if (level > deepest) deepest = level;
    if (deepest > max) return deepest;
    for (const child of Object.values(current)) stack.push({ value: child, depth: level });
  }
  return deepest;
}

/**
 * Characters that show nothing yet carry text: the zero-width space, the word joiner and the
 * invisible operators, the byte order mark, and the tag characters (U+E0000-U+E007F, which spell
 * ASCII no person sees and a language model may still read). The zero-width joiner and
 * non-joiner stay: scripts and emoji need them.
 */
const INVISIBLES = /[\u200b\u2060-\u2064\ufeff\u{e0000}-\u{e007f}]/gu;
/** What a line splitter may cut at inside JSON text, and the invisibles: both written as escapes. */
const HIDDEN_IN_JSON = new RegExp(`[\\u2028\\u2029\\u0085]|${INVISIBLES.source}`, 'gu');

/** `character`'s UTF-16 code units as \\uXXXX escapes (two for a character past U+FFFF). */
function unicodeEscapes(character: string): string {
  let escaped = '';
  for (let index = 0; index < character.length; index++) escaped += `\\u${character.charCodeAt(index).toString(16).padStart(4, '0')}`;
  return escaped;
}

/**
 * JSON text with U+2028, U+2029, U+0085 and the invisible characters written as escapes: still
 * the same JSON value (they can occur only inside its strings), but one line for any line
 * splitter and nothing a reader cannot see.
 */
export function escapeHiddenCharacters(json: string): string {
  return json.replace(HIDDEN_IN_JSON, unicodeEscapes);
}

/** A value quoted as JSON for an agent or a JSON-lines reader; see escapeHiddenCharacters. */
export function jsonQuote(value: unknown): string {
  // JSON.stringify gives undefined for undefined, a function or a symbol, though typed as string.
  const json: unknown = JSON.stringify(value);
  return escapeHiddenCharacters(typeof json === 'string' ? json : 'null');
}

// C0 except tab and newline, DEL, C1, the line and paragraph separators, and the bidi
// controls that reorder what a person reads (U+061C, U+200E/F, U+202A-U+202E, U+2066-U+2069).
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const CONTROLS = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069]/g;

/**
 * Text a peer wrote, safe to print to a terminal or put in a notification, a tree item or a
 * status bar: every control character becomes a visible escape (ESC → `\x1b`, U+202E →
 * `\u202e`), so it can neither drive the terminal nor disguise what follows, and every invisible
 * character too (U+E0041 → `\u{e0041}`), so none hides text. With `oneLine`, newlines and tabs
 * are escaped too.
 */
export function showControls(text: string, options: { oneLine?: boolean } = {}): string {
  const shown = text.replace(CONTROLS, escapeCharacter).replace(INVISIBLES, (character) => `\\u{${(character.codePointAt(0) ?? 0).toString(16)}}`);
  return options.oneLine ? shown.replace(/[\n\t]/g, escapeCharacter) : shown;
}

function escapeCharacter(character: string): string {
  const code = character.charCodeAt(0);
  return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
}

const HOST = String.raw`(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*|\[[0-9A-Fa-f:.]+\])`;
const RELAY_URL_SHAPE = new RegExp(String.raw`^https?://${HOST}(?::[0-9]{1,5})?(?:/[A-Za-z0-9._~%!$&'()*+,;=:/-]*)?$`);

/**
 * PROTOCOL.md 6.2: `http:` or `https:`, a plain host (ASCII name or bracketed IP) and port, a
 * path of URL characters; no user, password, query or fragment, nothing outside printable ASCII.
 */
export function isRelayUrlShape(url: unknown): url is string {
  return typeof url === 'string' && url.length <= MAX_RELAY_URL_CHARS && RELAY_URL_SHAPE.test(url);
}

/** `scheme://host:port` with the default port made explicit: two URLs on the same relay share it. */
export function relayOrigin(url: string): string {
  const match = /^(https?):\/\/([^/:[\]]+|\[[^\]]+\])(?::([0-9]+))?/.exec(url);
  if (!match) return url;
  const [, scheme = '', host = '', port] = match;
  return `${scheme}://${host.toLowerCase()}:${port === undefined ? (scheme === 'https' ? 443 : 80) : Number(port)}`;
}
