/**
 * Response serialization: a frozen object (core's shared cached reads) is serialized once and
 * its text reused; anything else is serialized every time, so a changed object never answers
 * with old text.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { serializeJson } from "../http-bridge/serialize.ts";

/** An object whose serialization can be counted (JSON.stringify calls toJSON each time). */
function counted(freeze: boolean): { value: object; calls: () => number } {
  let calls = 0;
  const value = { toJSON: () => ({ n: ++calls }) };
  return { value: freeze ? Object.freeze(value) : value, calls: () => calls };
}

test("a frozen object is serialized once; its text answers every later time", () => {
  const { value, calls } = counted(true);
  assert.equal(serializeJson(value), '{"n":1}');
  assert.equal(serializeJson(value), '{"n":1}');
  assert.equal(calls(), 1);
});

test("an object that may change is serialized every time", () => {
  const { value, calls } = counted(false);
  assert.equal(serializeJson(value), '{"n":1}');
  assert.equal(serializeJson(value), '{"n":2}');
  assert.equal(calls(), 2);
  const plain: Record<string, unknown> = { a: 1 };
  assert.equal(serializeJson(plain), '{"a":1}');
  plain.a = 2;
  assert.equal(serializeJson(plain), '{"a":2}');
});

test("values that are not objects serialize as JSON.stringify does", () => {
  for (const value of [null, 1, "x", true, [1, 2], Object.freeze([3])]) assert.equal(serializeJson(value), JSON.stringify(value));
});
