import assert from "node:assert/strict";
import { after, test } from "node:test";
import { CoreError, openRampart } from "@rampart/core";
import { nodeDeps } from "@rampart/core/adapters/node";
import { openTestRampart } from "../helpers/rampart.ts";

// A fake clock: the window passes in no time.
let now = Date.UTC(2026, 0, 1);
const t = await openTestRampart({ clock: () => now, throttle: { perUser: 2, perIp: 3, windowSeconds: 60 } });
after(() => t.cleanup());
const ctx = { requestId: "rq_0000000000000000000000", credentials: { apiKey: t.adminKey } };
const realm = await t.rampart.realms.create(ctx, { realm: { name: "Throttle" } });
const inRealm = { ...ctx, realmId: realm.id as string };
for (const username of ["kim", "lee", "max", "ned", "oz"]) await t.rampart.users.create(inRealm, { user: { username, password: "right password" } });

async function attempt(id: string, password: string, ip?: string): Promise<string> {
  try {
    await t.rampart.users.authenticate(inRealm, { id, password, ...(ip ? { request: { ip } } : {}) });
    return "ok";
  } catch (err) {
    assert.ok(err instanceof CoreError);
    return err.code;
  }
}

test("a throttled user gets in again once the window has passed, not later", async () => {
  assert.equal(await attempt("kim", "wrong"), "user.authentication_failed");
  assert.equal(await attempt("kim", "wrong"), "user.authentication_failed");
  assert.equal(await attempt("kim", "right password"), "user.throttled");
  now += 30_000;
  assert.equal(await attempt("kim", "right password"), "user.throttled", "refused attempts do not extend the window");
  now += 30_001;
  assert.equal(await attempt("kim", "right password"), "ok");
});

test("a success clears the user's failures", async () => {
  assert.equal(await attempt("lee", "wrong"), "user.authentication_failed");
  assert.equal(await attempt("lee", "right password"), "ok");
  assert.equal(await attempt("lee", "wrong"), "user.authentication_failed");
  assert.equal(await attempt("lee", "right password"), "ok");
});

test("failures from one IP across users throttle that IP, not other IPs", async () => {
  assert.equal(await attempt("max", "wrong", "192.0.2.1"), "user.authentication_failed");
  assert.equal(await attempt("ned", "wrong", "192.0.2.1"), "user.authentication_failed");
  assert.equal(await attempt("nobody", "wrong", "192.0.2.1"), "user.authentication_failed");
  assert.equal(await attempt("max", "right password", "192.0.2.1"), "user.throttled");
  assert.equal(await attempt("max", "right password", "192.0.2.2"), "ok");
});

test("the throttle survives a restart (it is stored in the database)", async () => {
  assert.equal(await attempt("oz", "wrong"), "user.authentication_failed");
  assert.equal(await attempt("oz", "wrong"), "user.authentication_failed");
  // A second instance on the same file stands in for the restarted server.
  const restarted = openRampart(nodeDeps({ path: t.path, clock: () => now, throttle: { perUser: 2, perIp: 3, windowSeconds: 60 } }));
  try {
    await assert.rejects(
      restarted.users.authenticate(inRealm, { id: "oz", password: "right password" }),
      (err: unknown) => err instanceof CoreError && err.code === "user.throttled",
    );
  } finally {
    await restarted.close();
  }
});
