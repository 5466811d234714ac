/**
 * P3's yardstick: the time of one argon2id hash with @node-rs/argon2 at the parameters
 * Rampart uses (m=19456 KiB, t=2, p=1), hashed one after another for `seconds`, and what
 * `cores` hashes at once reach for `parallelSeconds`. Prints
 * `RESULT {"times", "medianMs", "cores", "parallelPerSecond"}` (`times` in ms, so that runs
 * before and after a load can be pooled).
 */
import { hash } from "@node-rs/argon2";
import { availableParallelism } from "node:os";
import { median } from "../lib/stats.ts";

// `algorithm: 2` is Argon2id (a const enum, which isolated modules cannot import).
const OPTIONS = { algorithm: 2, memoryCost: 19_456, timeCost: 2, parallelism: 1 } as const;
const seconds = Number(process.argv[2] ?? "1");
const parallelSeconds = Number(process.argv[3] ?? "2");

await hash("warm up the thread pool", OPTIONS);
await hash("warm up the thread pool", OPTIONS);
// By time, not by count: a fixed dozen hashes is a fifth of a second, shorter than the
// machine's own swings.
const times: number[] = [];
const until = performance.now() + seconds * 1000;
for (let i = 0; performance.now() < until || times.length < 5; i++) {
  const t0 = performance.now();
  await hash(`correct horse battery ${i}`, OPTIONS);
  times.push(performance.now() - t0);
}

// For information: what `cores` hashes at once really achieve on this machine right now.
const cores = availableParallelism();
let done = 0;
const end = performance.now() + parallelSeconds * 1000;
const start = performance.now();
await Promise.all(
  Array.from({ length: cores }, async () => {
    while (performance.now() < end) {
      await hash("correct horse battery", OPTIONS);
      done++;
    }
  }),
);
const parallelPerSecond = done / ((performance.now() - start) / 1000);
process.stdout.write(`RESULT ${JSON.stringify({ times, medianMs: median(times), cores, parallelPerSecond })}\n`);
