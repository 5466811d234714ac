import assert from "node:assert/strict";
import { test } from "node:test";
import { IdGenerator, isId, newRequestId, randomBase62, webRandom } from "../../core/ids.ts";

test("ids are prefix + 22 base62 characters", () => {
  const ids = new IdGenerator();
  assert.match(ids.next("usr"), /^usr_[0-9A-Za-z]{22}$/);
  assert.match(newRequestId(), /^rq_[0-9A-Za-z]{22}$/);
});

test("ids sort in creation order, even within one millisecond and across clock steps", () => {
  let now = 1_700_000_000_000;
  const ids = new IdGenerator(() => now);
  const made: string[] = [];
  for (let i = 0; i < 500; i++) {
    if (i % 100 === 0) now += 1;
    made.push(ids.next("ev"));
  }
  assert.deepEqual([...made].sort(), made);
  assert.equal(new Set(made).size, made.length);
  now += 5000;
  const later = ids.next("ev");
  assert.ok(later > made.at(-1)!);
});

test("isId() checks prefix and shape", () => {
  assert.equal(isId("usr_0000000000000000000000", "usr"), true);
  assert.equal(isId("usr_000000000000000000000", "usr"), false);
  assert.equal(isId("org_0000000000000000000000", "usr"), false);
  assert.equal(isId("usr_00000000000000000000-0", "usr"), false);
});

test("randomBase62() has no modulo bias in its alphabet use and honours the length", () => {
  const s = randomBase62(6200);
  assert.equal(s.length, 6200);
  assert.match(s, /^[0-9A-Za-z]+$/);
  const counts = new Map<string, number>();
  for (const c of s) counts.set(c, (counts.get(c) ?? 0) + 1);
  assert.equal(counts.size, 62);
});

test("ids made in the same millisecond carry like a number: …5zzz is followed by …6000", () => {
  // Random bytes 5, 61, 61, … map to "5zzzzzzzzzzzzz" (alphabet index = byte % 62).
  const random = (bytes: Uint8Array) => bytes.fill(61).fill(5, 0, 1);
  const ids = new IdGenerator(() => 1_700_000_000_000, random);
  const first = ids.next("usr");
  const second = ids.next("usr");
  assert.equal(first.slice(-14), "5zzzzzzzzzzzzz");
  assert.equal(second.slice(-14), "60000000000000");
  assert.equal(second.slice(0, -14), first.slice(0, -14));
  assert.equal(ids.next("usr").slice(-14), "60000000000001");
});

test("the pooled random source never hands out the same bytes twice", () => {
  const seen = new Set<string>();
  // 2,000 draws of 28 bytes span many refills of the 4 KiB pool.
  for (let i = 0; i < 2000; i++) seen.add(Buffer.from(webRandom(new Uint8Array(28))).toString("hex"));
  assert.equal(seen.size, 2000);
  const big = webRandom(new Uint8Array(10_000));
  assert.ok(big.some((b) => b !== 0));
});
