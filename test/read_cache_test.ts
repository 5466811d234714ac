/**
 * The cache of hot reads (SqliteStore.cachedRead) is exact: what a read answers is what the
 * database says at that moment, whoever wrote it and however much time has passed. Session
 * checks, key checks and user reads are served from it between writes. (This process's own
 * writes empty it: every contract case that writes and then reads depends on that.)
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import Database from "better-sqlite3";
import { openTestRampart, type TestRampart } from "./helpers/rampart.ts";

describe("cached reads", () => {
  let now = Date.UTC(2026, 10, 30, 12, 0, 0);
  let t: TestRampart;
  /** A second connection to the same file: another process, as far as SQLite knows. */
  let other: Database.Database;
  let realmId: string;
  const ctx = () => ({ requestId: "rq_cache", credentials: { apiKey: t.adminKey }, realmId });
  const tick = (ms = 1) => (now += ms);

  before(async () => {
    t = await openTestRampart({ clock: () => now });
    other = new Database(t.path);
    other.pragma("busy_timeout = 5000");
    realmId = ((await t.rampart.realms.create({ requestId: "rq_cache", credentials: { apiKey: t.adminKey } }, { realm: { name: "cache" } })) as { id: string })
      .id;
  });
  after(async () => {
    other.close();
    await t.cleanup();
  });

  async function login(username: string) {
    await t.rampart.users.create(ctx(), { user: { username, password: "correct horse battery" } });
    return (await t.rampart.users.authenticate(ctx(), { id: username, password: "correct horse battery" })) as { id: string; token: string };
  }

  const notFound = (code: string) => (err: unknown) => err instanceof Error && (err as { code?: string }).code === code;

  test("a session deleted by another process is gone at the next check", async () => {
    const user = await login("dora");
    assert.equal(((await t.rampart.sessions.get(ctx(), { id: user.token })) as { user: { id: string } }).user.id, user.id);
    const before = t.rampart.statementCount();
    await t.rampart.sessions.get(ctx(), { id: user.token });
    assert.equal(t.rampart.statementCount() - before, 0, "served from the cache while nothing changes");
    other.prepare("DELETE FROM sessions WHERE user_id = ?").run(user.id);
    tick();
    await assert.rejects(t.rampart.sessions.get(ctx(), { id: user.token }), notFound("session.not_found"));
  });

  test("a call sees another process's commit even within the same millisecond", async () => {
    const user = await login("ned");
    await t.rampart.sessions.get(ctx(), { id: user.token });
    other.prepare("DELETE FROM sessions WHERE user_id = ?").run(user.id);
    // No tick: the clock shows the same millisecond as the cached read.
    await assert.rejects(t.rampart.sessions.get(ctx(), { id: user.token }), notFound("session.not_found"));
  });

  test("calls of one I/O turn share a probe within a millisecond; a later turn or millisecond probes again", async () => {
    const user = await login("ioturn");
    const inTurn = (ioTurn?: number) => ({ ...ctx(), ...(ioTurn === undefined ? {} : { ioTurn }) });
    const check = async (ioTurn?: number) => {
      const probes = t.rampart.probeCount();
      try {
        await t.rampart.sessions.get(inTurn(ioTurn), { id: user.token });
        return { found: true, probes: t.rampart.probeCount() - probes };
      } catch (err) {
        assert.ok(notFound("session.not_found")(err), String(err));
        return { found: false, probes: t.rampart.probeCount() - probes };
      }
    };
    tick();
    assert.deepEqual(await check(10), { found: true, probes: 1 }, "the first call of a turn probes");
    assert.deepEqual(await check(10), { found: true, probes: 0 }, "the next call of that turn shares its probe");
    assert.deepEqual(await check(9), { found: true, probes: 0 }, "so does a call read in an earlier turn");
    assert.deepEqual(await check(), { found: true, probes: 1 }, "a call without a turn always probes");

    other.prepare("UPDATE sessions SET expires_at = 0 WHERE user_id = ?").run(user.id);
    // A request of turn 10 began to arrive before the turn's probe, so before this commit.
    assert.deepEqual(await check(10), { found: true, probes: 0 });
    assert.deepEqual(await check(11), { found: false, probes: 1 }, "a later turn sees the commit");

    other.prepare("UPDATE sessions SET expires_at = ? WHERE user_id = ?").run(Math.floor(now / 1000) + 3600, user.id);
    tick();
    // The sharing never outlives the millisecond: at most that long of another process's commits goes unseen.
    assert.deepEqual(await check(11), { found: true, probes: 1 }, "the same turn in a later millisecond probes again");
  });

  test("a user changed by another process reads changed, by id, username and api key", async () => {
    const api = (await t.rampart.users.create(ctx(), { user: { user_type: "api" } })) as { id: string };
    const key = ((await t.rampart.credentials.create(ctx(), { credential: { user_id: api.id, credential_type: "api_key" } })) as { api_key: string }).api_key;
    const human = await login("erin");
    // The first key check records last_login_at (a write); from then on the three reads are cached.
    await t.rampart.users.authenticateKey(ctx(), { api_key: key });
    for (let round = 0; round < 2; round++) {
      const before = t.rampart.statementCount();
      for (const id of [human.id, "erin"]) assert.equal(((await t.rampart.users.get(ctx(), { id })) as { first_name: string | null }).first_name, null);
      assert.equal(((await t.rampart.users.authenticateKey(ctx(), { api_key: key })) as { id: string }).id, api.id);
      if (round === 1) assert.equal(t.rampart.statementCount() - before, 0, "served from the cache");
    }
    other.prepare("UPDATE users SET first_name = 'Erin' WHERE id = ?").run(human.id);
    other.prepare("UPDATE users SET state = 'inactive' WHERE id = ?").run(api.id);
    tick();
    for (const id of [human.id, "erin"]) assert.equal(((await t.rampart.users.get(ctx(), { id })) as { first_name: string | null }).first_name, "Erin");
    await assert.rejects(t.rampart.users.authenticateKey(ctx(), { api_key: key }), notFound("user.authentication_failed"));
  });

  test("a membership that expires leaves the count and the expansion without any write", async () => {
    const user = await login("fay");
    const org = (await t.rampart.orgs.create(ctx(), { org: { name: "Fay's" } })) as { id: string };
    await t.rampart.memberships.create(ctx(), { membership: { user_id: user.id, org_id: org.id, expires_at: Math.floor(now / 1000) + 60 } });
    const read = async () => {
      const session = (await t.rampart.sessions.get(ctx(), { id: user.token })) as { user: { membership_count: number } };
      const expanded = (await t.rampart.sessions.get(ctx(), { id: user.token, expands: "memberships" })) as { memberships: unknown[] };
      const got = (await t.rampart.users.get(ctx(), { id: user.id, expands: "memberships" })) as { membership_count: number; memberships: unknown[] };
      return [session.user.membership_count, expanded.memberships.length, got.membership_count, got.memberships.length];
    };
    assert.deepEqual(await read(), [1, 1, 1, 1]);
    assert.deepEqual(await read(), [1, 1, 1, 1]);
    const writes = t.rampart.writeCount();
    tick(61_000);
    assert.deepEqual(await read(), [0, 0, 0, 0]);
    assert.equal(t.rampart.writeCount(), writes, "nothing was written in between");
  });

  test("a read returns one frozen object while nothing changes, and a new one after a change", async () => {
    const api = (await t.rampart.users.create(ctx(), { user: { user_type: "api" } })) as { id: string };
    const key = ((await t.rampart.credentials.create(ctx(), { credential: { user_id: api.id, credential_type: "api_key" } })) as { api_key: string }).api_key;
    const user = await login("hal");
    await t.rampart.users.authenticateKey(ctx(), { api_key: key }); // records last_login_at once
    const reads = {
      user: () => t.rampart.users.get(ctx(), { id: user.id }),
      userWithMemberships: () => t.rampart.users.get(ctx(), { id: user.id, expands: "memberships" }),
      keyCheck: () => t.rampart.users.authenticateKey(ctx(), { api_key: key }),
      session: () => t.rampart.sessions.get(ctx(), { id: user.token }),
      sessionWithMemberships: () => t.rampart.sessions.get(ctx(), { id: user.token, expands: "memberships" }),
    };
    const first: Record<string, object> = {};
    for (const [name, read] of Object.entries(reads)) {
      first[name] = await read();
      assert.equal(await read(), first[name], `${name}: the same object while nothing changes`);
      assert.ok(Object.isFrozen(first[name]), `${name}: frozen, since callers share it`);
      assert.throws(() => Object.assign(first[name]!, { id: "changed" }), TypeError);
    }
    assert.notEqual(first.user, first.userWithMemberships, "each expansion is its own object");
    await t.rampart.users.update(ctx(), { id: user.id, user: { first_name: "Hal" } });
    const fresh = (await reads.user()) as { first_name: string };
    assert.notEqual(fresh, first.user);
    assert.equal(fresh.first_name, "Hal");
    assert.equal(((await reads.session()) as { user: { first_name: string } }).user.first_name, "Hal");
    // A fresh token is signed per call, so that expansion is never shared.
    const withToken = () => t.rampart.sessions.get(ctx(), { id: user.token, expands: "token" });
    assert.notEqual(await withToken(), await withToken());
  });

  test("a session that expires is not found once its time is up", async () => {
    const user = await login("gus");
    const session = (await t.rampart.sessions.get(ctx(), { id: user.token })) as { id: string; expires_at: number };
    now = session.expires_at * 1000 - 1000;
    await t.rampart.sessions.get(ctx(), { id: session.id });
    now = session.expires_at * 1000 + 1;
    await assert.rejects(t.rampart.sessions.get(ctx(), { id: session.id }), notFound("session.not_found"));
  });
  test("a key revoked and a realm changed by another process are refused or seen at the next call", async () => {
    const second = (await t.rampart.keys.create({ name: "second" })) as { key: string; id: string };
    const secondCtx = { requestId: "rq_cache", credentials: { apiKey: second.key }, realmId };
    assert.equal(((await t.rampart.realms.get(secondCtx, { id: realmId })) as { name: string }).name, "cache");
    other.prepare("UPDATE realms SET name = 'renamed elsewhere' WHERE id = ?").run(realmId);
    tick();
    assert.equal(((await t.rampart.realms.get(secondCtx, { id: realmId })) as { name: string }).name, "renamed elsewhere");
    other.prepare("UPDATE api_keys SET revoked_at = 1 WHERE id = ?").run(second.id);
    tick();
    await assert.rejects(t.rampart.realms.get(secondCtx, { id: realmId }), notFound("api_key.invalid"));
  });

  test("an app hook added by another process receives the events this process records next", async () => {
    await t.rampart.users.create(ctx(), { user: { username: "ivy" } }); // fills the hook cache (none)
    const hookId = "hk_0000000000000000000001";
    other
      .prepare(
        "INSERT INTO app_hooks (id, realm_id, state, hook_type, event_types, destination, secret, created_at) VALUES (?, ?, 'active', 'webhook', ?, ?, 'secret', 1)",
      )
      .run(hookId, realmId, JSON.stringify(["user.created"]), "http://127.0.0.1:9/hook");
    tick();
    await t.rampart.users.create(ctx(), { user: { username: "jay" } });
    const queued = other.prepare("SELECT count(*) AS n FROM deliveries WHERE app_hook_id = ?").get(hookId) as { n: number };
    assert.equal(queued.n, 1, "the event after the hook was added is queued for it");
  });
  test("a write waiting for another process's write lock leaves this process answering", async () => {
    await login("kit");
    other.exec("BEGIN IMMEDIATE"); // another process holds the write lock
    let created = false;
    const pending = t.rampart.users.create(ctx(), { user: { username: "lou" } }).then(() => (created = true));
    try {
      const started = Date.now();
      // Reads keep being answered, and timers keep firing, while the write waits.
      for (let i = 0; i < 5; i++) {
        await new Promise((resolve) => setTimeout(resolve, 20));
        assert.equal(((await t.rampart.users.get(ctx(), { id: "kit" })) as { username: string }).username, "kit");
      }
      assert.equal(created, false, "the write is still waiting for the lock");
      assert.ok(Date.now() - started < 1000, "the event loop was never blocked for long");
    } finally {
      other.exec("COMMIT");
    }
    await pending;
    assert.equal(((await t.rampart.users.get(ctx(), { id: "lou" })) as { username: string }).username, "lou");
  });
});
