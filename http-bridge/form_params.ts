/**
 * Query strings and `application/x-www-form-urlencoded` bodies, parsed with qs in the bracket
 * syntax 2015 clients use (`user[username]=x`, `expands[]=a`). Values stay strings; core
 * coerces and validates them.
 */
import qs from "qs";
import type { Params } from "@rampart/core";
import { FORBIDDEN_KEYS, malformed } from "./malformed.ts";

/** Limits on form-encoded input; exceeding any of them is a 400, never a silent truncation. */
export const FORM_LIMITS = Object.freeze({
  /** Bracket nesting (`a[b][c]` is 2). */
  depth: 10,
  /** `key=value` pairs in one query string or body. */
  parameterLimit: 1000,
  /** Elements in one array (`expands[]=…` repeated, or an index such as `a[99]`). */
  arrayLimit: 100,
});

/** Where the text came from; names the error's attribute when no key can be named. */
export type FormSource = "query" | "body";

/** Thrown by {@link strictDecode}; turned into a 400 by the caller, which knows the source. */
class BadEncoding extends Error {}

/**
 * Decodes one form-encoded token: `+` is a space, `%XX` are UTF-8 bytes. qs's own decoder
 * returns malformed input unchanged (`%E0%A4` stays literal), which would let invalid UTF-8
 * reach core as a plausible string, so this one refuses it.
 */
function strictDecode(token: string): string {
  try {
    return decodeURIComponent(token.replace(/\+/g, " "));
  } catch {
    throw new BadEncoding();
  }
}

/** The key of one `key=value` pair, split where qs splits it (`a[b=c]=d` has key `a[b=c]`). */
function rawKeyOf(part: string): string {
  const bracketEquals = part.indexOf("]=");
  const pos = bracketEquals === -1 ? part.indexOf("=") : bracketEquals + 1;
  return pos === -1 ? part : part.slice(0, pos);
}

/**
 * Rejects prototype-pollution keys before qs sees the text: qs drops them silently, and a
 * client deserves to learn that its parameter was refused.
 */
function checkKeys(parts: readonly string[]): void {
  for (const part of parts) {
    if (part === "") continue;
    const key = strictDecode(rawKeyOf(part));
    for (const segment of key.split(/[[\]]/)) {
      if (FORBIDDEN_KEYS.has(segment)) throw malformed(key, "is not an allowed parameter name");
    }
  }
}

/** qs settings for the bracket syntax (exported for the equivalence test of the flat fast path). */
export const QS_OPTIONS: qs.IParseOptions = {
  allowPrototypes: false,
  allowDots: false,
  comma: false,
  parseArrays: true,
  allowSparse: false,
  charset: "utf-8",
  charsetSentinel: false,
  interpretNumericEntities: false,
  strictNullHandling: false,
  duplicates: "combine",
  depth: FORM_LIMITS.depth,
  strictDepth: true,
  parameterLimit: FORM_LIMITS.parameterLimit,
  arrayLimit: FORM_LIMITS.arrayLimit,
  throwOnLimitExceeded: true,
  decoder: (token) => strictDecode(token),
};

/**
 * Parses a query string (without its `?`) or a form body into params.
 * Throws a 400 `request.malformed` CoreError for bad %-encoding, forbidden keys and
 * input beyond {@link FORM_LIMITS}.
 */
export function parseFormEncoded(text: string, source: FormSource): Params {
  if (text === "") return {};
  const parts = text.split("&");
  if (parts.length > FORM_LIMITS.parameterLimit) {
    throw malformed(source, `has more than ${FORM_LIMITS.parameterLimit} parameters`);
  }
  try {
    checkKeys(parts);
    return parseFlat(text, parts) ?? (qs.parse(text, QS_OPTIONS) as Params);
  } catch (err) {
    if (err instanceof BadEncoding) throw malformed(source, "is not valid URL encoding (bad %-escape or invalid UTF-8)");
    // qs signals its limits (depth, array size, parameter count) with RangeError.
    if (err instanceof RangeError) throw malformed(source, limitMessage(err.message));
    throw err;
  }
}

// Brackets (raw or %-encoded) and dots are qs's syntax; without them a pair is just key=value.
const QS_SYNTAX = /[[\]]|%5[bd]/i;

/**
 * The common case without qs: flat, distinct keys (`expands=memberships&max_results=5`).
 * Answers exactly what qs would, or undefined to let qs handle everything else (brackets,
 * repeated keys, empty keys, keys that name Object.prototype members, which qs drops).
 */
function parseFlat(text: string, parts: readonly string[]): Params | undefined {
  if (QS_SYNTAX.test(text)) return undefined;
  const out: Params = {};
  for (const part of parts) {
    if (part === "") continue;
    const eq = part.indexOf("=");
    const key = strictDecode(eq === -1 ? part : part.slice(0, eq));
    if (key === "" || key in out || key in Object.prototype) return undefined;
    out[key] = eq === -1 ? "" : strictDecode(part.slice(eq + 1));
  }
  return out;
}

function limitMessage(qsMessage: string): string {
  if (/depth/i.test(qsMessage)) return `is nested deeper than ${FORM_LIMITS.depth} levels`;
  if (/array/i.test(qsMessage)) return `has an array longer than ${FORM_LIMITS.arrayLimit} elements`;
  return `has more than ${FORM_LIMITS.parameterLimit} parameters`;
}

/** The query string of a raw request URL, without `?` (empty when there is none). */
export function rawQueryOf(url: string): string {
  const q = url.indexOf("?");
  return q === -1 ? "" : url.slice(q + 1);
}
