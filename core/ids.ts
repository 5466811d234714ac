/**
 * Identifiers and secrets: `prefix_` + 22 base62 characters whose first 8 encode the creation
 * time in milliseconds, so byte order is creation order (within one process, strictly).
 */
const ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
const TIME_CHARS = 8;
const RANDOM_CHARS = 14;

/** Fills `bytes` from a CSPRNG. */
export type RandomSource = (bytes: Uint8Array) => Uint8Array;

export const webRandom: RandomSource = (bytes) => crypto.getRandomValues(bytes);

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

function encodeTime(ms: number): string {
  let s = "";
  let v = Math.floor(ms);
  for (let i = 0; i < TIME_CHARS; i++) {
    s = ALPHABET[v % 62] + s;
    v = Math.floor(v / 62);
  }
  return s;
}

/** Increments a base62 string by one (wrapping is practically impossible at 14 chars). */
function increment(s: string): string {
  const chars = s.split("");
  for (let i = chars.length - 1; i >= 0; i--) {
    const idx = ALPHABET.indexOf(chars[i]!);
    if (idx < 61) {
      chars[i] = ALPHABET[idx + 1]!;
      return chars.join("");
    }
    chars[i] = "0";
  }
  return chars.join("");
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
