/**
 * JSONP for the LoginRocket API (GET with `callback=<name>`), hardened the usual way: the
 * name must be a dotted JavaScript identifier path of at most 128 characters (no brackets,
 * quotes or parentheses, so it cannot be anything but a function reference); the body starts
 * with an empty comment (`/**\/`), which stops a response being read as a Flash/SWF file or
 * an XSSI payload starting with attacker bytes; and it is served as JavaScript with `nosniff`.
 */

/** The longest accepted callback name. */
export const MAX_CALLBACK_LENGTH = 128;

/** `name`, `name.sub`, `$`, `_jqjsp`, `jQuery123_456`…; no `[`, `(`, quotes or spaces. */
const CALLBACK = /^[A-Za-z_$][\w$]*(\.[A-Za-z_$][\w$]*)*$/;

/** The media type of a JSONP answer. */
export const JSONP_CONTENT_TYPE = "application/javascript; charset=utf-8";

/** True when `value` may be used as a JSONP callback name. */
export function isValidCallback(value: unknown): value is string {
  return typeof value === "string" && value.length <= MAX_CALLBACK_LENGTH && CALLBACK.test(value);
}

/**
 * JSON that is also safe inside JavaScript source: U+2028 and U+2029 are legal in JSON
 * strings but ended string literals in JavaScript before ES2019.
 */
export function scriptSafeJson(value: unknown): string {
  return JSON.stringify(value)
    .replace(/\u2028/g, "\\u2028")
    .replace(/\u2029/g, "\\u2029");
}

/** The body of a JSONP answer: `/**\/<callback>(<json>);`. `callback` must be valid. */
export function jsonpBody(callback: string, value: unknown): string {
  if (!isValidCallback(callback)) throw new Error("invalid JSONP callback");
  return `/**/${callback}(${scriptSafeJson(value)});`;
}
