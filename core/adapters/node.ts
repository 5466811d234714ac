/**
 * Node.js dependencies for core: better-sqlite3 and argon2id (@node-rs/argon2) hashing on
 * libuv's thread pool with bounded concurrency. Only Node entry points import this file.
 */
import { hash as digest } from "node:crypto";
import { mkdirSync } from "node:fs";
import { availableParallelism } from "node:os";
import { dirname } from "node:path";
import { hash } from "@node-rs/argon2";
import { needsRehash, parseImportedHash } from "./node_password_hashes.ts";
import Database from "better-sqlite3";
import type { PasswordHasher, SqliteDatabase } from "../deps.ts";
import type { OpenOptions } from "../rampart.ts";

/** OWASP's argon2id choice: m=19 MiB, t=2, p=1. */
// `algorithm: 2` is Algorithm.Argon2id (a const enum, which isolated modules cannot import).
export const ARGON2_OPTIONS = { algorithm: 2, memoryCost: 19_456, timeCost: 2, parallelism: 1 } as const;

/** Limits how many tasks run at once; the rest wait in FIFO order. */
export class Semaphore {
  #active = 0;
  readonly #waiting: (() => void)[] = [];
  readonly limit: number;
  constructor(limit: number) {
    this.limit = limit;
  }
  /** Tasks waiting for a slot (the hash queue depth). */
  get queued(): number {
    return this.#waiting.length;
  }
  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.#active >= this.limit) await new Promise<void>((resolve) => this.#waiting.push(resolve));
    this.#active++;
    try {
      return await task();
    } finally {
      this.#active--;
      this.#waiting.shift()?.();
    }
  }
}

/**
 * argon2id hashing off the event loop, at most `concurrency` hashes at a time. Verification
 * also accepts imported bcrypt, scrypt, PBKDF2 and other argon2 hashes within safe bounds
 * (core re-hashes those with argon2id at the next successful login).
 */
export function argon2Hasher(concurrency = Math.max(1, availableParallelism())): PasswordHasher & { queue: Semaphore } {
  const queue = new Semaphore(concurrency);
  return {
    queue,
    hash: (password) => queue.run(() => hash(password, ARGON2_OPTIONS)),
    verify: (phc, password) =>
      queue.run(async () => {
        const verifier = parseImportedHash(phc);
        if (!verifier) return false;
        try {
          return await verifier.verify(password);
        } catch {
          return false;
        }
      }),
    recognizes: (phc) => parseImportedHash(phc) !== undefined,
    needsRehash: (phc) => needsRehash(phc, ARGON2_OPTIONS),
  };
}

/** Options of {@link nodeDeps}: a file path instead of a connection, everything else as openRampart takes it. */
export interface NodeDepsOptions extends Omit<OpenOptions, "database" | "hasher"> {
  /** SQLite file path (its folder is created), or ":memory:". */
  path: string;
  /** Hashes at once (default: the number of cores). */
  hashConcurrency?: number;
}

/** Everything `openRampart` needs on Node. */
export function nodeDeps(options: NodeDepsOptions): OpenOptions {
  const { path, hashConcurrency, ...rest } = options;
  if (path !== ":memory:") mkdirSync(dirname(path), { recursive: true });
  // better-sqlite3's overloaded typings are wider than the structural port; the calls match.
  const database = new Database(path) as unknown as SqliteDatabase;
  // crypto.hash: one call, no Hash object (Node ≥ 20.12).
  return { sha256: (text) => digest("sha256", text, "hex"), ...rest, database, hasher: argon2Hasher(hashConcurrency) };
}
