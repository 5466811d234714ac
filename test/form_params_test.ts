/**
 * Query strings and form bodies: the flat fast path (no brackets, distinct keys) must answer
 * exactly what qs answers with Rampart's settings, for every input it takes.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import qs from "qs";
import { parseFormEncoded, QS_OPTIONS } from "../http-bridge/form_params.ts";

function viaQs(text: string): unknown {
  return qs.parse(text, QS_OPTIONS);
}

test("flat query strings parse exactly as qs parses them", () => {
  const samples = [
    "a=1",
    "expands=memberships&max_results=5",
    "a",
    "a=",
    "=x",
    "a=b=c",
    "a+b=c+d",
    "a%20b=%C3%A9",
    "a=1&a=2",
    "a=1&b=2&a=3",
    "toString=1",
    "hasOwnProperty=x&y=1",
    "&&a=1&",
    "a.b=c",
    "x=%2B%26%3D",
    "a=1;b=2",
    "user[username]=x",
    "expands[]=a&expands[]=b",
    "a%5Bb%5D=c",
  ];
  for (const text of samples) assert.deepEqual(parseFormEncoded(text, "query"), viaQs(text), text);
});

test("random flat strings: the fast path and qs agree", () => {
  const alphabet = ["a", "b", "c", "=", "&", "+", ".", "%41", "%2B", "%3D", "%26", "x"];
  let seed = 42;
  const next = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  for (let i = 0; i < 3000; i++) {
    let text = "";
    const length = 1 + Math.floor(next() * 12);
    for (let j = 0; j < length; j++) text += alphabet[Math.floor(next() * alphabet.length)];
    assert.deepEqual(parseFormEncoded(text, "query"), viaQs(text), text);
  }
});

test("malformed %-encoding is refused on the fast path too", () => {
  assert.throws(() => parseFormEncoded("a=%E0%A4", "query"), /not valid URL encoding/);
  assert.throws(() => parseFormEncoded("a%ZZ=1", "query"), /not valid URL encoding/);
});
