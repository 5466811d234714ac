/**
 * The `request` hash `{ip, client}` that callers attach to calls that write events.
 * Accepted forms (spec §2.2): an object; a JSON string; the 2015 Ruby inspect form
 * `{"ip"=>"…", "client"=>"…"}`; deprecated top-level `ip`/`client`; `ip`/`client` inside
 * `{"session": …}`.
 */
import { CoreError } from "./errors.ts";
import type { Params } from "./context.ts";
import { isObject } from "./params.ts";

/** Who the end user was: IP literal and client (user agent) string. */
export interface RequestInfo {
  ip: string | null;
  client: string | null;
}

const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;

/** True for a valid IPv4 or IPv6 literal (no zone ids, no brackets). */
export function isIpLiteral(s: string): boolean {
  if (IPV4.test(s)) return true;
  if (!/^[0-9A-Fa-f:.]{2,45}$/.test(s)) return false;
  let text = s;
  let extra = 0;
  const lastColon = text.lastIndexOf(":");
  const tail = text.slice(lastColon + 1);
  if (tail.includes(".")) {
    if (!IPV4.test(tail)) return false;
    text = text.slice(0, lastColon + 1) + "0:0";
    extra = 0;
  }
  const halves = text.split("::");
  if (halves.length > 2) return false;
  const groups = (h: string): string[] | null => {
    if (h === "") return [];
    const parts = h.split(":");
    return parts.every((g) => /^[0-9A-Fa-f]{1,4}$/.test(g)) ? parts : null;
  };
  const left = groups(halves[0]!);
  const right = halves.length === 2 ? groups(halves[1]!) : [];
  if (!left || !right) return false;
  const count = left.length + right.length + extra;
  return halves.length === 2 ? count < 8 : count === 8;
}

// The Ruby Hash#inspect form: {"ip"=>"1.2.3.4", "client"=>"x"} (spaces around => optional).
const RUBY_PAIR = /"((?:[^"\\]|\\.)*)"\s*=>\s*(?:"((?:[^"\\]|\\.)*)"|nil)/g;

function parseRubyHash(s: string): Record<string, unknown> | undefined {
  const body = s.trim();
  if (!body.startsWith("{") || !body.endsWith("}") || !body.includes("=>")) return undefined;
  const out: Record<string, unknown> = {};
  let consumed = body.slice(1, -1);
  for (const m of body.matchAll(RUBY_PAIR)) {
    out[unescapeRuby(m[1]!)] = m[2] === undefined ? null : unescapeRuby(m[2]);
    consumed = consumed.replace(m[0], "");
  }
  // Anything left besides separators means it was not a hash of string pairs.
  if (consumed.replace(/[\s,]/g, "") !== "") return undefined;
  return out;
}

function unescapeRuby(s: string): string {
  return s.replace(/\\(.)/g, "$1");
}

function fromString(s: string): Record<string, unknown> {
  const ruby = parseRubyHash(s);
  if (ruby) return ruby;
  try {
    const parsed: unknown = JSON.parse(s);
    if (isObject(parsed)) return parsed;
  } catch {
    // fall through to the error below
  }
  throw new CoreError("validation_failed", { request: ['must be an object such as {"ip": "…", "client": "…"}'] });
}

/** Reads and validates the request hash from params (all accepted forms). */
export function readRequestInfo(params: Params, wrapperName?: string): RequestInfo {
  let raw: Record<string, unknown> = {};
  const given = params.request;
  if (given !== undefined && given !== null && given !== "") {
    if (typeof given === "string") raw = fromString(given);
    else if (isObject(given)) raw = given;
    else throw new CoreError("validation_failed", { request: ["must be an object"] });
  } else {
    // Deprecated forms: top-level ip/client, or inside {"session": {...}}.
    const w = wrapperName ? params[wrapperName] : undefined;
    const src = isObject(w) && (w.ip !== undefined || w.client !== undefined) ? w : params;
    raw = { ip: src.ip, client: src.client };
  }
  for (const key of Object.keys(raw)) {
    if (key !== "ip" && key !== "client") throw new CoreError("validation_failed", { request: [`has an unknown key: ${key.slice(0, 64)}`] });
  }
  const ip = raw.ip;
  const client = raw.client;
  if (ip !== undefined && ip !== null && ip !== "" && (typeof ip !== "string" || !isIpLiteral(ip))) {
    throw new CoreError("validation_failed", { request: ["ip must be a valid IPv4 or IPv6 address"] });
  }
  if (client !== undefined && client !== null && (typeof client !== "string" || client.length > 255 || client.includes("\u0000"))) {
    throw new CoreError("validation_failed", { request: ["client must be a string of at most 255 characters"] });
  }
  return {
    ip: typeof ip === "string" && ip !== "" ? ip : null,
    client: typeof client === "string" && client !== "" ? client : null,
  };
}
