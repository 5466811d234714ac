/**
 * A password hasher for the Deno and Bun test runs, on Web Crypto alone (PBKDF2-SHA256), so
 * it runs unchanged on every runtime without a native module. TEST ONLY: the iteration count
 * is kept low for speed; production embeddings use argon2id (core/adapters/node.ts on Node).
 *
 * Format: `$pbkdf2-sha256$i=<iterations>$<salt>$<hash>`, salt and hash in unpadded base64.
 */
import type { PasswordHasher } from "@rampart/core";

const PREFIX = "$pbkdf2-sha256$";
const ITERATIONS = 10_000;
/** The most iterations verify() accepts, so a stored hash cannot make a login arbitrarily slow. */
const MAX_ITERATIONS = 1_000_000;
const FORMAT = /^\$pbkdf2-sha256\$i=([1-9][0-9]{0,6})\$([A-Za-z0-9+/]{16,})\$([A-Za-z0-9+/]{43})$/;

function toBase64(bytes: Uint8Array): string {
  return btoa(String.fromCharCode(...bytes)).replace(/=+$/, "");
}

function fromBase64(text: string): Uint8Array<ArrayBuffer> {
  return Uint8Array.from(atob(text.padEnd(Math.ceil(text.length / 4) * 4, "=")), (c) => c.charCodeAt(0));
}

async function derive(password: string, salt: Uint8Array<ArrayBuffer>, iterations: number): Promise<Uint8Array> {
  const key = await crypto.subtle.importKey("raw", new TextEncoder().encode(password), "PBKDF2", false, ["deriveBits"]);
  const bits = await crypto.subtle.deriveBits({ name: "PBKDF2", hash: "SHA-256", salt, iterations }, key, 256);
  return new Uint8Array(bits);
}

function parse(phc: string): { iterations: number; salt: Uint8Array<ArrayBuffer>; hash: Uint8Array } | undefined {
  const m = FORMAT.exec(phc);
  if (!m) return undefined;
  const iterations = Number(m[1]);
  if (iterations > MAX_ITERATIONS) return undefined;
  try {
    return { iterations, salt: fromBase64(m[2]!), hash: fromBase64(m[3]!) };
  } catch {
    return undefined;
  }
}

/** Compares without an early exit on the first differing byte. */
function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i]! ^ b[i]!;
  return diff === 0;
}

/** The Web Crypto PBKDF2 test hasher (see the module comment). */
export function pbkdf2TestHasher(): PasswordHasher {
  return {
    async hash(password) {
      const salt = crypto.getRandomValues(new Uint8Array(16));
      return `${PREFIX}i=${ITERATIONS}$${toBase64(salt)}$${toBase64(await derive(password, salt, ITERATIONS))}`;
    },
    async verify(phc, password) {
      const parsed = parse(phc);
      if (!parsed) return false;
      return equalBytes(await derive(password, parsed.salt, parsed.iterations), parsed.hash);
    },
    recognizes: (phc) => parse(phc) !== undefined,
    needsRehash: (phc) => parse(phc)?.iterations !== ITERATIONS,
  };
}
