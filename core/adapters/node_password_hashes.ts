/**
 * Verifying imported password hashes on Node: argon2 (PHC), bcrypt (MCF `$2a$/$2b$/$2y$`),
 * scrypt (PHC `$scrypt$ln=…,r=…,p=…$salt$hash`) and PBKDF2 (PHC `$pbkdf2-sha256$i=…$…`,
 * passlib's `$pbkdf2-sha256$<rounds>$…` and Django's `pbkdf2_sha256$<rounds>$…`).
 *
 * Every format is verified only within safe parameter bounds, so an imported hash cannot
 * make one login burn gigabytes of memory or minutes of CPU. Everything runs off the event
 * loop (libuv's thread pool or the native addons' own threads).
 */
import { pbkdf2, scrypt, timingSafeEqual } from "node:crypto";
import { promisify } from "node:util";
import { verify as argon2Verify } from "@node-rs/argon2";
import { verify as bcryptVerify } from "@node-rs/bcrypt";

const pbkdf2Async = promisify(pbkdf2);
const scryptAsync = promisify(scrypt) as (
  password: string,
  salt: Buffer,
  keylen: number,
  options: { N: number; r: number; p: number; maxmem: number },
) => Promise<Buffer>;

/** The most any imported hash may ask for. */
export const IMPORT_BOUNDS = {
  argon2: { maxMemoryKiB: 262_144, maxTime: 16, maxParallelism: 8 },
  bcrypt: { maxCost: 14 },
  scrypt: { maxLogN: 20, maxR: 32, maxP: 16, maxMemoryBytes: 256 * 1024 * 1024 },
  pbkdf2: { minIterations: 1000, maxIterations: 5_000_000 },
} as const;

/** A parsed hash that can be checked against a password. */
interface Verifier {
  /** The scheme, for logs and tests. */
  scheme: "argon2" | "bcrypt" | "scrypt" | "pbkdf2";
  verify(password: string): Promise<boolean>;
}

/** Standard or "adapted" (passlib: `.` for `+`) base64, with or without padding. */
function b64(text: string): Buffer | undefined {
  if (!/^[A-Za-z0-9+/.=_-]+$/.test(text)) return undefined;
  return Buffer.from(text.replace(/\./g, "+").replace(/-/g, "+").replace(/_/g, "/"), "base64");
}

function equal(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

function argon2(hash: string): Verifier | undefined {
  const m = /^\$argon2(id|i|d)\$(?:v=\d+\$)?m=(\d+),t=(\d+),p=(\d+)\$[A-Za-z0-9+/]+\$[A-Za-z0-9+/]+$/.exec(hash);
  if (!m) return undefined;
  const [memory, time, parallelism] = [Number(m[2]), Number(m[3]), Number(m[4])];
  const b = IMPORT_BOUNDS.argon2;
  if (memory > b.maxMemoryKiB || time > b.maxTime || parallelism > b.maxParallelism || time < 1 || parallelism < 1) return undefined;
  return { scheme: "argon2", verify: (password) => argon2Verify(hash, password) };
}

function bcrypt(hash: string): Verifier | undefined {
  const m = /^\$2[aby]\$(\d\d)\$[./A-Za-z0-9]{53}$/.exec(hash);
  if (!m || Number(m[1]) < 4 || Number(m[1]) > IMPORT_BOUNDS.bcrypt.maxCost) return undefined;
  return { scheme: "bcrypt", verify: (password) => bcryptVerify(password, hash) };
}

function scryptPhc(hash: string): Verifier | undefined {
  const m = /^\$scrypt\$ln=(\d+),r=(\d+),p=(\d+)\$([^$]+)\$([^$]+)$/.exec(hash);
  if (!m) return undefined;
  const [logN, r, p] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const salt = b64(m[4]!);
  const expected = b64(m[5]!);
  const b = IMPORT_BOUNDS.scrypt;
  if (!salt || !expected || expected.length < 16 || logN < 1 || logN > b.maxLogN || r < 1 || r > b.maxR || p < 1 || p > b.maxP) return undefined;
  const N = 2 ** logN;
  const memory = 128 * N * r + 128 * r * p;
  if (memory > b.maxMemoryBytes) return undefined;
  return {
    scheme: "scrypt",
    verify: async (password) => equal(await scryptAsync(password, salt, expected.length, { N, r, p, maxmem: memory + 1024 * 1024 }), expected),
  };
}

const PBKDF2_DIGESTS: Record<string, string> = { "": "sha1", sha1: "sha1", sha256: "sha256", sha512: "sha512" };

function pbkdf2Any(hash: string): Verifier | undefined {
  // PHC: $pbkdf2-sha256$i=600000,l=32$salt$hash   passlib: $pbkdf2-sha256$29000$salt$hash
  // Django: pbkdf2_sha256$260000$salt$hash (the salt is used as text, the hash is base64)
  let digest: string | undefined;
  let iterations: number;
  let salt: Buffer | undefined;
  let expected: Buffer | undefined;
  const phc = /^\$pbkdf2(?:-(sha1|sha256|sha512))?\$(?:i=(\d+)(?:,l=\d+)?|(\d+))\$([^$]+)\$([^$]+)$/.exec(hash);
  const django = /^pbkdf2_(sha1|sha256)\$(\d+)\$([^$]+)\$([^$]+)$/.exec(hash);
  if (phc) {
    digest = PBKDF2_DIGESTS[phc[1] ?? ""];
    iterations = Number(phc[2] ?? phc[3]);
    salt = b64(phc[4]!);
    expected = b64(phc[5]!);
  } else if (django) {
    digest = django[1];
    iterations = Number(django[2]);
    salt = Buffer.from(django[3]!, "utf8");
    expected = b64(django[4]!);
  } else return undefined;
  const b = IMPORT_BOUNDS.pbkdf2;
  if (!digest || !salt || !expected || expected.length < 16 || iterations < b.minIterations || iterations > b.maxIterations) return undefined;
  return {
    scheme: "pbkdf2",
    verify: async (password) => equal(await pbkdf2Async(password, salt, iterations, expected.length, digest), expected),
  };
}

/** Parses `hash` into a verifier when it is a supported format within bounds; else undefined. */
export function parseImportedHash(hash: string): Verifier | undefined {
  if (hash.length > 512) return undefined;
  return argon2(hash) ?? bcrypt(hash) ?? scryptPhc(hash) ?? pbkdf2Any(hash);
}

/** True unless `hash` is argon2id at least as strong as Rampart's own parameters. */
export function needsRehash(hash: string, own: { memoryCost: number; timeCost: number }): boolean {
  const m = /^\$argon2id\$v=19\$m=(\d+),t=(\d+),p=(\d+)\$/.exec(hash);
  return !m || Number(m[1]) < own.memoryCost || Number(m[2]) < own.timeCost;
}
