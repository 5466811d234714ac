import assert from "node:assert/strict";
import { test } from "node:test";
import { isReadOnlyOperation } from "@rampart/core";
import { V1_ROUTES } from "../../http-bridge/routes.ts";

test("isReadOnlyOperation: lists, gets and key checks read; everything else may write", () => {
  for (const name of ["users.list", "users.get", "sessions.get", "users.authenticateKey"]) assert.equal(isReadOnlyOperation(name), true, name);
  for (const name of ["users.create", "users.authenticate", "sessions.delete", "realms.reset", "users.getter"])
    assert.equal(isReadOnlyOperation(name), false, name);
  // Every read-only v1 route is a GET, but for the key check (a POST that carries a secret).
  const readOnlyPosts = V1_ROUTES.filter((r) => isReadOnlyOperation(r.op) && r.method !== "GET").map((r) => r.op);
  assert.deepEqual(readOnlyPosts, ["users.authenticateKey"]);
});
