/**
 * Helpers shared by the parsers: the 400 error they raise and the key rules every body and
 * query string obeys, whatever its encoding.
 */
import { CoreError } from "@rampart/core";

/** A 400 `request.malformed` error whose messages sit under `field`. */
export function malformed(field: string, message: string): CoreError {
  return new CoreError("request.malformed", { [field]: [message] });
}

/**
 * Keys refused anywhere in a body or query string. Core never reads them, but a consumer that
 * merges params into an object (or a later refactor) could reach `Object.prototype` through
 * them, so they are stopped at the door with a 400 naming the key rather than dropped silently.
 */
export const FORBIDDEN_KEYS: ReadonlySet<string> = new Set(["__proto__", "constructor", "prototype"]);

/** `user[custom][x]` for the path `["user", "custom", "x"]`: the notation of form bodies. */
export function bracketPath(path: readonly string[]): string {
  if (path.length === 0) return "base";
  return (
    path[0] +
    path
      .slice(1)
      .map((k) => `[${k}]`)
      .join("")
  );
}

/** Unpaired UTF-16 surrogates: JSON's `\ud800` escapes can smuggle them in; UTF-8 cannot carry them. */
const LONE_SURROGATE = /\p{Cs}/u;

/** True when `s` cannot be encoded as UTF-8 (it holds an unpaired surrogate). */
export function hasLoneSurrogate(s: string): boolean {
  return LONE_SURROGATE.test(s);
}
