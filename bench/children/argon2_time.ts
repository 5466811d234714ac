/**
 * P3's yardstick: the time of one argon2id hash with @node-rs/argon2 at the parameters
 * Rampart uses (m=19456 KiB, t=2, p=1), and how many cores there are. Prints
 * `RESULT {"medianMs", "cores", "parallelPerSecond"}`.
 */
import { hash } from "@node-rs/argon2";
import { availableParallelism } from "node:os";
import { median } from "../lib/stats.ts";

// `algorithm: 2` is Argon2id (a const enum, which isolated modules cannot import).
const OPTIONS = { algorithm: 2, memoryCost: 19_456, timeCost: 2, parallelism: 1 } as const;
const samples = Number(process.argv[2] ?? "20");
const parallelSeconds = Number(process.argv[3] ?? "2");

await hash("warm up the thread pool", OPTIONS);
await hash("warm up the thread pool", OPTIONS);
const times: number[] = [];
for (let i = 0; i < samples; i++) {
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
process.stdout.write(`RESULT ${JSON.stringify({ medianMs: median(times), cores, parallelPerSecond })}\n`);
