/**
 * JSON request bodies: strict UTF-8, bounded nesting, an object at the top, and no key that
 * could reach an object prototype. Only parsing happens here; core validates the fields.
 */
import type { Params } from "@rampart/core";
import { FORBIDDEN_KEYS, bracketPath, hasLoneSurrogate, malformed } from "./malformed.ts";

/** Deepest accepted nesting of objects/arrays; `{"a":1}` is depth 1. */
export const MAX_JSON_DEPTH = 32;

// fatal: invalid UTF-8 throws instead of turning into U+FFFD (which would be stored silently).
const utf8 = new TextDecoder("utf-8", { fatal: true });

/** Decodes bytes as UTF-8, refusing invalid sequences with a 400 naming `field`. */
export function decodeUtf8(bytes: Uint8Array, field: string): string {
  try {
    return utf8.decode(bytes);
  } catch {
    throw malformed(field, "is not valid UTF-8");
  }
}

/**
 * Measures nesting on the text before parsing it, so that a megabyte of `[[[[…` is refused
 * without building the structure (and without recursion: the scan is a loop).
 */
function checkDepth(text: string): void {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c /* \ */) i++;
      else if (c === 0x22 /* " */) inString = false;
    } else if (c === 0x22) {
      inString = true;
    } else if (c === 0x7b /* { */ || c === 0x5b /* [ */) {
      if (++depth > MAX_JSON_DEPTH) throw malformed("body", `is nested deeper than ${MAX_JSON_DEPTH} levels`);
    } else if (c === 0x7d /* } */ || c === 0x5d /* ] */) {
      depth--;
    }
  }
}

/**
 * A message for JSON.parse's SyntaxError that keeps its position but not V8's quote of the
 * input, which could echo a password back into a response or a log line.
 */
function syntaxMessage(err: unknown): string {
  const text = err instanceof Error ? err.message : "";
  if (/end of JSON input/i.test(text)) return "is not valid JSON: it ends too early";
  const pos = /at position (\d+)/.exec(text);
  return pos ? `is not valid JSON (error at position ${pos[1]})` : "is not valid JSON";
}

/** Walks the parsed value (depth already bounded) for forbidden keys and unpaired surrogates. */
function checkValue(value: unknown, path: string[]): void {
  if (typeof value === "string") {
    if (hasLoneSurrogate(value)) throw malformed(bracketPath(path), "is not valid Unicode (unpaired surrogate)");
  } else if (Array.isArray(value)) {
    value.forEach((item, i) => checkValue(item, [...path, String(i)]));
  } else if (value !== null && typeof value === "object") {
    for (const [key, item] of Object.entries(value)) {
      const at = [...path, key];
      if (FORBIDDEN_KEYS.has(key)) throw malformed(bracketPath(at), "is not an allowed key");
      if (hasLoneSurrogate(key)) throw malformed(bracketPath(path), "has a key that is not valid Unicode");
      checkValue(item, at);
    }
  }
}

/**
 * Parses a JSON request body. An empty (or all-whitespace) body is "no body" and yields
 * `undefined`: 2015 clients send `Content-Type: application/json` on bodiless DELETEs.
 * Throws a 400 `request.malformed` CoreError otherwise.
 */
export function parseJsonBody(bytes: Uint8Array): Params | undefined {
  if (bytes.length === 0) return undefined;
  const text = decodeUtf8(bytes, "body");
  if (text.trim() === "") return undefined;
  checkDepth(text);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw malformed("body", syntaxMessage(err));
  }
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw malformed("body", "must be a JSON object");
  }
  checkValue(value, []);
  return value as Params;
}
