import assert from "node:assert/strict";
import { test } from "node:test";
import { IdGenerator, isId, newRequestId, randomBase62 } from "../../core/ids.ts";

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
