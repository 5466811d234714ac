/**
 * The end user's IP address as LoginRocket records it. The socket's peer is the client unless
 * it is a configured trusted proxy (`RAMPART_TRUSTED_PROXIES`); only then is
 * `X-Forwarded-For` read, right to left, skipping further trusted proxies. A header sent by
 * anyone else is ignored, so a client cannot choose the IP its events (and the per-IP
 * throttle) see.
 */
import { isIP } from "node:net";

/** One trusted range: an address family and the first `bits` bits of `bytes`. */
interface IpRange {
  bytes: Uint8Array;
  bits: number;
}

/** A parsed list of trusted proxies (addresses and CIDR ranges, IPv4 and IPv6). */
export interface TrustedProxies {
  /** True when `ip` (a normalised literal, see {@link normalizeIp}) lies in one of the ranges. */
  contains(ip: string): boolean;
  /** How many ranges the list holds (0: no proxy is trusted). */
  readonly size: number;
}

/** Thrown for an entry that is neither an IP address nor a CIDR range; the message names it. */
export class TrustedProxyError extends Error {
  override name = "TrustedProxyError";
}

/**
 * An address as recorded: IPv4-mapped IPv6 (`::ffff:1.2.3.4`, what a dual-stack socket
 * reports) becomes plain IPv4, an IPv6 zone (`%eth0`) is dropped, and IPv6 is lower-cased.
 * Returns `null` for anything that is not an IP literal.
 */
export function normalizeIp(text: string): string | null {
  let s = text.trim();
  const zone = s.indexOf("%");
  if (zone !== -1 && s.includes(":")) s = s.slice(0, zone);
  const family = isIP(s);
  if (family === 4) return s;
  if (family !== 6) return null;
  const bytes = ipv6Bytes(s);
  if (isV4Mapped(bytes)) return `${bytes[12]}.${bytes[13]}.${bytes[14]}.${bytes[15]}`;
  return s.toLowerCase();
}

/**
 * One entry of `X-Forwarded-For` as proxies write it: a bare address, or with a port
 * (`1.2.3.4:5678`, `[2001:db8::1]:443`). Returns the normalised address or `null`.
 */
function forwardedAddress(entry: string): string | null {
  const s = entry.trim();
  const bracketed = /^\[([^\]]+)\](?::\d{1,5})?$/.exec(s);
  if (bracketed) return normalizeIp(bracketed[1]!);
  const v4WithPort = /^(\d{1,3}(?:\.\d{1,3}){3}):\d{1,5}$/.exec(s);
  if (v4WithPort) return normalizeIp(v4WithPort[1]!);
  return normalizeIp(s);
}

function ipv4Bytes(s: string): Uint8Array {
  return Uint8Array.from(s.split(".").map(Number));
}

/** The 16 bytes of a valid IPv6 literal (checked by `isIP` first), embedded IPv4 tail included. */
function ipv6Bytes(s: string): Uint8Array {
  let text = s;
  const lastColon = text.lastIndexOf(":");
  const tail = text.slice(lastColon + 1);
  if (tail.includes(".")) {
    // `::ffff:1.2.3.4` → `::ffff:102:304`: the dotted tail is the last two groups.
    const [a, b, c, d] = ipv4Bytes(tail);
    text = `${text.slice(0, lastColon + 1)}${((a! << 8) | b!).toString(16)}:${((c! << 8) | d!).toString(16)}`;
  }
  const groups = (part: string): number[] => (part === "" ? [] : part.split(":").map((g) => parseInt(g, 16)));
  const halves = text.split("::");
  const left = groups(halves[0]!);
  const right = halves.length === 2 ? groups(halves[1]!) : [];
  const all = [...left, ...new Array<number>(8 - left.length - right.length).fill(0), ...right];
  const out = new Uint8Array(16);
  all.forEach((g, i) => {
    out[2 * i] = g >> 8;
    out[2 * i + 1] = g & 0xff;
  });
  return out;
}

function isV4Mapped(bytes: Uint8Array): boolean {
  for (let i = 0; i < 10; i++) if (bytes[i] !== 0) return false;
  return bytes[10] === 0xff && bytes[11] === 0xff;
}

/** The bytes of a normalised address (4 for IPv4, 16 for IPv6). */
function bytesOf(ip: string): Uint8Array {
  return isIP(ip) === 4 ? ipv4Bytes(ip) : ipv6Bytes(ip);
}

/** Parses `addr` or `addr/prefix`. Host bits beyond the prefix are ignored (`10.1.2.3/8` = `10.0.0.0/8`). */
export function parseIpRange(entry: string): IpRange {
  const text = entry.trim();
  const slash = text.indexOf("/");
  const written = slash === -1 ? text : text.slice(0, slash);
  const address = text.includes("%") ? null : normalizeIp(written);
  if (address === null) throw new TrustedProxyError(`"${entry}" is not an IP address or CIDR range`);
  const bytes = bytesOf(address);
  // The prefix counts bits of the address as written: `::ffff:10.0.0.0/104` is 10.0.0.0/8.
  const writtenBits = isIP(written) === 6 ? 128 : 32;
  let bits = bytes.length * 8;
  if (slash !== -1) {
    const prefix = text.slice(slash + 1);
    if (!/^\d{1,3}$/.test(prefix) || Number(prefix) > writtenBits) {
      throw new TrustedProxyError(`"${entry}" has a prefix length outside 0-${writtenBits}`);
    }
    bits = Number(prefix) - (writtenBits - bytes.length * 8);
    if (bits < 0) throw new TrustedProxyError(`"${entry}" mixes an IPv4-mapped address with a prefix shorter than 96`);
  }
  return { bytes, bits };
}

function inRange(bytes: Uint8Array, range: IpRange): boolean {
  if (bytes.length !== range.bytes.length) return false;
  const whole = range.bits >> 3;
  for (let i = 0; i < whole; i++) if (bytes[i] !== range.bytes[i]) return false;
  const rest = range.bits & 7;
  if (rest === 0) return true;
  const mask = (0xff << (8 - rest)) & 0xff;
  return (bytes[whole]! & mask) === (range.bytes[whole]! & mask);
}

/**
 * Parses trusted proxy entries (each an address or CIDR range; blanks are skipped).
 * Throws {@link TrustedProxyError} naming the first bad entry.
 */
export function parseTrustedProxies(entries: readonly string[]): TrustedProxies {
  const ranges = entries.filter((e) => e.trim() !== "").map(parseIpRange);
  return {
    size: ranges.length,
    contains(ip: string): boolean {
      const normalized = normalizeIp(ip);
      if (normalized === null) return false;
      const bytes = bytesOf(normalized);
      return ranges.some((r) => inRange(bytes, r));
    },
  };
}

/** Splits a comma-separated setting (`RAMPART_TRUSTED_PROXIES`) into entries. */
export function splitProxyList(text: string): string[] {
  return text
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s !== "");
}

/**
 * The client's IP. `peer` is the socket's remote address. When the peer is trusted, the
 * `X-Forwarded-For` entries are walked from the right (the hop nearest to us): the first
 * untrusted address is the client; an unparseable entry stops the walk at the last address
 * that could be read (never a value the client could have chosen freely past a trusted hop);
 * when every entry is trusted, the leftmost one is the client.
 */
export function clientIp(peer: string | undefined, forwardedFor: string | string[] | undefined, trusted: TrustedProxies): string | null {
  let ip = peer === undefined ? null : normalizeIp(peer);
  if (ip === null || trusted.size === 0 || !trusted.contains(ip)) return ip;
  const header = Array.isArray(forwardedFor) ? forwardedFor.join(",") : (forwardedFor ?? "");
  const hops = header.split(",").filter((h) => h.trim() !== "");
  for (let i = hops.length - 1; i >= 0; i--) {
    const hop = forwardedAddress(hops[i]!);
    if (hop === null) return ip;
    ip = hop;
    if (!trusted.contains(hop)) return hop;
  }
  return ip;
}
