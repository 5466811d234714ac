/**
 * One catalogue of error slugs, two transport tables and docs/errors.md must agree: every
 * slug is documented with the kind, HTTP status and gRPC code the code actually uses.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { status as grpcStatus } from "@grpc/grpc-js";
import { ERROR_CATALOGUE } from "@rampart/core";
import { GRPC_STATUS_BY_KIND } from "@rampart/grpc-server";
import { HTTP_STATUS_BY_KIND } from "@rampart/http-bridge";

const doc = readFileSync(new URL("../docs/errors.md", import.meta.url), "utf8");
const rows = new Map<string, { kind: string; http: number; grpc: string }>();
for (const line of doc.split("\n")) {
  // Columns may be padded (prettier aligns Markdown tables).
  const m = /^\|\s*`([^`]+)`\s*\|\s*(\w+)\s*\|\s*(\d{3})\s*\|\s*(\w+)\s*\|/.exec(line);
  if (m) rows.set(m[1]!, { kind: m[2]!, http: Number(m[3]), grpc: m[4]! });
}

test("docs/errors.md documents every slug of the catalogue, and nothing else", () => {
  assert.deepEqual([...rows.keys()].sort(), Object.keys(ERROR_CATALOGUE).sort());
});

test("each documented kind, HTTP status and gRPC code is what the code uses", () => {
  for (const [code, entry] of Object.entries(ERROR_CATALOGUE)) {
    const row = rows.get(code)!;
    assert.equal(row.kind, entry.kind, `${code}: kind`);
    assert.equal(row.http, HTTP_STATUS_BY_KIND[entry.kind], `${code}: HTTP status`);
    assert.equal(row.grpc, grpcStatus[GRPC_STATUS_BY_KIND[entry.kind]], `${code}: gRPC code`);
  }
});

test("both transport tables cover every error kind", () => {
  const kinds = new Set(Object.values(ERROR_CATALOGUE).map((e) => e.kind));
  for (const kind of kinds) {
    assert.ok(HTTP_STATUS_BY_KIND[kind] >= 400, `${kind} has an HTTP status`);
    assert.ok(GRPC_STATUS_BY_KIND[kind] !== undefined, `${kind} has a gRPC code`);
  }
});
