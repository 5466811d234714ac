/**
 * Identifiers and secrets: `prefix_` + 22 base62 characters whose first 8 encode the creation
 * time in milliseconds, so byte order is creation order (within one process, strictly).
 */
const ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
const TIME_CHARS = 8;
const RANDOM_CHARS = 14;

/** Fills `bytes` from a CSPRNG. */
export type RandomSource = (bytes: Uint8Array) => Uint8Array;

const POOL_BYTES = 4096;
let pool = new Uint8Array(0);
let poolOffset = 0;

/**
 * Web Crypto's CSPRNG, drawn 4 KiB at a time: ids and request ids need a few dozen bytes
 * each, and one `getRandomValues` call per id was a measurable share of a fast request.
 * Every byte is handed out once.
 */
export const webRandom: RandomSource = (bytes) => {
  if (bytes.length > POOL_BYTES / 8) return crypto.getRandomValues(bytes);
  if (poolOffset + bytes.length > pool.length) {
    pool = crypto.getRandomValues(new Uint8Array(POOL_BYTES));
    poolOffset = 0;
  }
  bytes.set(pool.subarray(poolOffset, poolOffset + bytes.length));
  poolOffset += bytes.length;
  return bytes;
};

/** `n` uniformly random base62 characters (rejection sampling, no modulo bias). */
export function randomBase62(n: number, random: RandomSource = webRandom): string {
  let out = "";
  while (out.length < n) {
    const buf = random(new Uint8Array(n * 2));
    for (const b of buf) {
      if (b < 248) out += ALPHABET[b % 62];
      if (out.length === n) break;
    }
  }
  return out;
}

let lastMs = -1;
let lastEncoded = "";

function encodeTime(ms: number): string {
  let v = Math.floor(ms);
  // Most calls in a busy process fall in the same millisecond as the one before.
  if (v === lastMs) return lastEncoded;
  lastMs = v;
  let s = "";
  for (let i = 0; i < TIME_CHARS; i++) {
    s = ALPHABET[v % 62] + s;
    v = Math.floor(v / 62);
  }
  lastEncoded = s;
  return s;
}

/** Increments a base62 string by one (wrapping is practically impossible at 14 chars). */
function increment(s: string): string {
  let i = s.length - 1;
  // Carry: trailing "z"s become "0"s.
  while (i >= 0 && s.charCodeAt(i) === 122 /* z */) i--;
  if (i < 0) return "0".repeat(s.length);
  return s.slice(0, i) + ALPHABET[ALPHABET.indexOf(s[i]!) + 1]! + "0".repeat(s.length - i - 1);
}

/** Generates time-ordered ids; monotonic within one generator even inside one millisecond. */
export class IdGenerator {
  #lastTime = "";
  #lastRandom = "";
  readonly #clock: () => number;
  readonly #random: RandomSource;

  constructor(clock: () => number = Date.now, random: RandomSource = webRandom) {
    this.#clock = clock;
    this.#random = random;
  }

  /** A new id such as `usr_0Mq3…`. */
  next(prefix: string): string {
    const time = encodeTime(this.#clock());
    if (time <= this.#lastTime) {
      this.#lastRandom = increment(this.#lastRandom);
      return `${prefix}_${this.#lastTime}${this.#lastRandom}`;
    }
    this.#lastTime = time;
    this.#lastRandom = randomBase62(RANDOM_CHARS, this.#random);
    return `${prefix}_${time}${this.#lastRandom}`;
  }
}

const defaultIds = new IdGenerator();

/** A fresh request id, `rq_` + 22 base62. Transports call this for every request. */
export function newRequestId(): string {
  return defaultIds.next("rq");
}

/** True when `s` is an id with the given prefix. */
export function isId(s: string, prefix: string): boolean {
  return s.length === prefix.length + 23 && s.startsWith(`${prefix}_`) && /^[0-9A-Za-z]{22}$/.test(s.slice(prefix.length + 1));
}
