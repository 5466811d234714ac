/**
 * Reading raw params. Every value from any transport passes through these, so one set of
 * rules (types, lengths, NUL bytes, allow-lists) holds for HTTP, gRPC and in-process callers.
 * Query strings deliver everything as strings; these accept those forms too.
 */
import { CoreError, Problems } from "./errors.ts";
import type { Params } from "./context.ts";

/** Default maximum length of a string attribute. */
export const MAX_STRING = 255;
/** Maximum serialized size of a `custom` object. */
export const MAX_CUSTOM_BYTES = 16 * 1024;
const MAX_CUSTOM_DEPTH = 8;

/** True for a plain object (not null, not an array). */
export function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array);
}

/** Rejects keys outside `allowed`, ignoring the read-only ones a client may echo back. */
export function rejectUnknown(obj: Record<string, unknown>, allowed: ReadonlySet<string>, ignored: ReadonlySet<string>, p: Problems, prefix = ""): void {
  for (const key of Object.keys(obj)) {
    if (!allowed.has(key) && !ignored.has(key)) p.add(prefix + key, "is not a known attribute");
  }
}

interface StringRules {
  max?: number;
  min?: number;
  pattern?: RegExp;
  patternMessage?: string;
}

function checkString(v: string, field: string, p: Problems, rules: StringRules): string | undefined {
  if (v.includes("\u0000")) {
    p.add(field, "must not contain NUL bytes");
    return undefined;
  }
  if (/[\uD800-\uDFFF]/u.test(v.replace(/[\uD800-\uDBFF][\uDC00-\uDFFF]/g, ""))) {
    p.add(field, "is not valid Unicode");
    return undefined;
  }
  const max = rules.max ?? MAX_STRING;
  if (v.length > max) {
    p.add(field, `is too long (maximum is ${max} characters)`);
    return undefined;
  }
  if (rules.min !== undefined && v.length < rules.min) {
    p.add(field, `is too short (minimum is ${rules.min} characters)`);
    return undefined;
  }
  if (rules.pattern && !rules.pattern.test(v)) {
    p.add(field, rules.patternMessage ?? "is invalid");
    return undefined;
  }
  return v;
}

/**
 * An optional string: `undefined` when absent, `null` when explicitly null or blank, else the
 * string. Wrong types are recorded in `p`.
 */
export function optString(obj: Record<string, unknown>, key: string, p: Problems, rules: StringRules = {}, field = key): string | null | undefined {
  const v = obj[key];
  if (v === undefined) return undefined;
  if (v === null) return null;
  if (typeof v !== "string") {
    p.add(field, "must be a string");
    return undefined;
  }
  if (v === "") return null;
  return checkString(v, field, p, rules);
}

/** A string that must be present and not blank. */
export function reqString(obj: Record<string, unknown>, key: string, p: Problems, rules: StringRules = {}, field = key): string | undefined {
  const v = optString(obj, key, p, rules, field);
  if (v === null || (v === undefined && !p.errors[field])) {
    p.add(field, "can't be blank");
    return undefined;
  }
  return v ?? undefined;
}

/** A raw string kept exactly as sent (passwords): not trimmed, not normalized, blank allowed here. */
export function rawString(obj: Record<string, unknown>, key: string, p: Problems, max: number, field = key): string | undefined {
  const v = obj[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "string") {
    p.add(field, "must be a string");
    return undefined;
  }
  return checkString(v, field, p, { max });
}

/** One of a fixed set of strings. */
export function optEnum<T extends string>(obj: Record<string, unknown>, key: string, values: readonly T[], p: Problems, field = key): T | undefined {
  const v = obj[key];
  if (v === undefined || v === null || v === "") return undefined;
  if (typeof v !== "string" || !(values as readonly string[]).includes(v)) {
    p.add(field, `must be one of: ${values.join(", ")}`);
    return undefined;
  }
  return v as T;
}

/** A boolean; accepts true/false and the strings "true"/"false"/"1"/"0" of forms and queries. */
export function optBool(obj: Record<string, unknown>, key: string, p: Problems, field = key): boolean | undefined {
  const v = obj[key];
  if (v === undefined || v === null || v === "") return undefined;
  if (typeof v === "boolean") return v;
  if (v === "true" || v === "1") return true;
  if (v === "false" || v === "0") return false;
  p.add(field, "must be true or false");
  return undefined;
}

/** An integer within [min, max]; accepts numeric strings. */
export function optInt(obj: Record<string, unknown>, key: string, min: number, max: number, p: Problems, field = key): number | undefined {
  const v = obj[key];
  if (v === undefined || v === null || v === "") return undefined;
  const n = typeof v === "number" ? v : typeof v === "string" && /^-?\d{1,16}$/.test(v) ? Number(v) : NaN;
  if (!Number.isSafeInteger(n)) {
    p.add(field, "must be a whole number");
    return undefined;
  }
  if (n < min || n > max) {
    p.add(field, `must be between ${min} and ${max}`);
    return undefined;
  }
  return n;
}

/** A non-negative number of seconds (fractions allowed); accepts numeric strings. */
export function optSeconds(obj: Record<string, unknown>, key: string, p: Problems, field = key): number | undefined {
  const v = obj[key];
  if (v === undefined || v === null || v === "") return undefined;
  const n = typeof v === "number" ? v : typeof v === "string" && /^\d{1,11}(\.\d{1,9})?$/.test(v) ? Number(v) : NaN;
  if (!Number.isFinite(n) || n < 0 || n > 1e11) {
    p.add(field, "must be unix seconds");
    return undefined;
  }
  return n;
}

/** A `custom` attributes object: plain JSON, bounded in size and depth. */
export function optCustom(obj: Record<string, unknown>, key: string, p: Problems, field = key): Record<string, unknown> | undefined {
  const v = obj[key];
  if (v === undefined) return undefined;
  if (v === null || v === "") return {};
  if (!isObject(v)) {
    p.add(field, "must be an object");
    return undefined;
  }
  const problem = checkJson(v, 0);
  if (problem) {
    p.add(field, problem);
    return undefined;
  }
  if (JSON.stringify(v).length > MAX_CUSTOM_BYTES) {
    p.add(field, `is too large (maximum is ${MAX_CUSTOM_BYTES} bytes as JSON)`);
    return undefined;
  }
  return v;
}

function checkJson(v: unknown, depth: number): string | undefined {
  if (depth > MAX_CUSTOM_DEPTH) return `is nested too deeply (maximum depth is ${MAX_CUSTOM_DEPTH})`;
  if (v === null || typeof v === "boolean") return undefined;
  if (typeof v === "number") return Number.isFinite(v) ? undefined : "must contain only finite numbers";
  if (typeof v === "string") return v.includes("\u0000") ? "must not contain NUL bytes" : undefined;
  if (Array.isArray(v)) {
    for (const item of v) {
      const problem = checkJson(item, depth + 1);
      if (problem) return problem;
    }
    return undefined;
  }
  if (isObject(v)) {
    for (const [k, item] of Object.entries(v)) {
      if (k === "__proto__" || k === "constructor" || k === "prototype") return `must not use the key ${k}`;
      if (k.includes("\u0000")) return "must not contain NUL bytes";
      const problem = checkJson(item, depth + 1);
      if (problem) return problem;
    }
    return undefined;
  }
  return "must contain only JSON values";
}

/** Reads the wrapper object (`{"user": {...}}`); a missing wrapper is an empty one. */
export function wrapper(params: Params, name: string): Record<string, unknown> {
  const v = params[name];
  if (v === undefined || v === null || v === "") return {};
  if (!isObject(v)) throw new CoreError("validation_failed", { [name]: ["must be an object"] });
  return v;
}

/** A param read from the top level, or from inside the wrapper (2015 clients put everything there). */
export function topOrWrapped(params: Params, wrapperName: string, key: string): unknown {
  if (params[key] !== undefined) return params[key];
  const w = params[wrapperName];
  return isObject(w) ? w[key] : undefined;
}

/** The `expands` / `expand` values (comma list, array, or `[]` form), restricted to `honoured`. */
export function readExpands(params: Params, wrapperName: string | undefined, honoured: readonly string[]): Set<string> {
  const out = new Set<string>();
  for (const key of ["expands", "expand"]) {
    const v = wrapperName ? topOrWrapped(params, wrapperName, key) : params[key];
    if (v === undefined || v === null) continue;
    const items = Array.isArray(v) ? v : [v];
    for (const item of items) {
      if (typeof item !== "string") throw new CoreError("validation_failed", { [key]: ["must be a string or a list of strings"] });
      for (const part of item.split(",")) {
        const name = part.trim();
        if (honoured.includes(name)) out.add(name);
      }
    }
  }
  return out;
}

/** Rejects top-level params outside `allowed` (plus the ones every call accepts). */
export function rejectUnknownParams(params: Params, allowed: readonly string[]): void {
  const p = new Problems();
  for (const key of Object.keys(params)) {
    if (!UNIVERSAL_PARAMS.has(key) && !allowed.includes(key)) p.add(key, "is not a known parameter");
  }
  p.throwIfAny();
}

const UNIVERSAL_PARAMS = new Set(["id", "realm_id", "request", "ip", "client", "expands", "expand"]);

/** Normalizes an identifier (username, email) for uniqueness: Unicode NFKC, then lower case. */
export function normalizeIdentifier(s: string): string {
  return s.normalize("NFKC").toLowerCase().trim();
}
