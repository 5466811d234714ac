import assert from "node:assert/strict";
import { test } from "node:test";
import { Problems } from "../../core/errors.ts";
import { normalizeIdentifier, optBool, optCustom, optInt, optString, readExpands } from "../../core/params.ts";

test("normalizeIdentifier() folds NFKC look-alikes and case", () => {
  assert.equal(normalizeIdentifier("ＢＯＢ"), "bob");
  assert.equal(normalizeIdentifier("Alice"), "alice");
  assert.equal(normalizeIdentifier("ﬁ"), "fi");
});

test("optString() rejects NUL bytes, lone surrogates, wrong types and overlong values", () => {
  const p = new Problems();
  assert.equal(optString({ a: "x\u0000y" }, "a", p), undefined);
  assert.equal(optString({ b: "\uD800" }, "b", p), undefined);
  assert.equal(optString({ c: 5 }, "c", p), undefined);
  assert.equal(optString({ d: "x".repeat(256) }, "d", p), undefined);
  assert.deepEqual(Object.keys(p.errors), ["a", "b", "c", "d"]);
  assert.equal(optString({ e: "😀 ok" }, "e", p), "😀 ok");
  assert.equal(optString({ f: "" }, "f", p), null);
});

test("optInt() and optBool() accept the string forms of queries and forms", () => {
  const p = new Problems();
  assert.equal(optInt({ n: "42" }, "n", 0, 100, p), 42);
  assert.equal(optInt({ n: 1e300 }, "n", 0, 100, p), undefined);
  assert.equal(optInt({ n: "4.5" }, "n", 0, 100, p), undefined);
  assert.equal(optBool({ b: "false" }, "b", p), false);
  assert.equal(optBool({ b: "yes" }, "b", p), undefined);
  assert.deepEqual(Object.keys(p.errors), ["n", "b"]);
  assert.equal(p.errors.n?.length, 2);
});

test("optCustom() bounds depth and size and refuses pollution keys", () => {
  const p = new Problems();
  let deep: Record<string, unknown> = {};
  const root = deep;
  for (let i = 0; i < 20; i++) deep = deep.x = {} as Record<string, unknown>;
  assert.equal(optCustom({ custom: root }, "custom", p), undefined);
  assert.equal(optCustom({ custom: JSON.parse('{"__proto__": {"admin": true}}') }, "custom", p), undefined);
  assert.equal(optCustom({ custom: { big: "x".repeat(20_000) } }, "custom", p), undefined);
  assert.equal(p.errors.custom?.length, 3);
  assert.deepEqual(optCustom({ custom: { a: [1, "b", null] } }, "custom", new Problems()), { a: [1, "b", null] });
});

test("readExpands() reads comma lists, arrays and the wrapper, keeping only honoured values", () => {
  assert.deepEqual([...readExpands({ expands: "memberships,custom,bogus" }, undefined, ["custom"])], ["custom"]);
  assert.deepEqual([...readExpands({ expand: ["custom"] }, undefined, ["custom"])], ["custom"]);
  assert.deepEqual([...readExpands({ user: { expands: "custom" } }, "user", ["custom"])], ["custom"]);
  assert.throws(() => readExpands({ expands: { a: 1 } }, undefined, ["custom"]));
});
