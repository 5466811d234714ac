/**
 * Webhooks against real HTTP receivers on 127.0.0.1: signatures, bodies, retries with
 * backoff (an injected clock, so no waiting), timeouts, cancellation, isolation between
 * hooks, bounded shutdown and exactly-once completion at volume.
 */
import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { after, describe, test } from "node:test";
import type { NodeDepsOptions } from "@rampart/core/adapters/node";
import { openTestRampart, type TestRampart } from "./helpers/rampart.ts";

type Json = Record<string, any>;

interface Received {
  headers: IncomingMessage["headers"];
  body: string;
}

/** A receiver whose answer is decided per request by `respond`. */
async function receiver(
  respond: (n: number, req: Received, res: ServerResponse) => void,
): Promise<{ url: string; received: Received[]; server: Server; close: () => Promise<void> }> {
  const received: Received[] = [];
  const server = createServer((req, res) => {
    let body = "";
    req.setEncoding("utf8");
    req.on("data", (c: string) => (body += c));
    req.on("end", () => {
      const entry = { headers: req.headers, body };
      received.push(entry);
      respond(received.length, entry, res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hook`,
    received,
    server,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

const ok = (_n: number, _r: Received, res: ServerResponse) => res.writeHead(204).end();

async function setup(options: Partial<NodeDepsOptions> = {}) {
  const t = await openTestRampart(options);
  const ctx = { requestId: "rq_0000000000000000000000", credentials: { apiKey: t.adminKey } };
  const realm = (await t.rampart.realms.create(ctx, { realm: { name: "Hooks" } })) as Json;
  return { t, ctx, realm, inRealm: { ...ctx, realmId: realm.id as string } };
}

function listDeliveries(t: TestRampart, hookId: string): Json[] {
  // Read through a second connection: what is durable on disk, not what is in memory.
  const rows = t.sqlite().prepare("SELECT * FROM deliveries WHERE app_hook_id = ? ORDER BY id").all(hookId) as Json[];
  return rows;
}

describe("webhooks", () => {
  const cleanups: (() => Promise<void>)[] = [];
  after(async () => {
    for (const c of cleanups.reverse()) await c();
  });

  test("app hooks: CRUD, secret on create and get, email refused, bad destination refused, events", async () => {
    const { t, ctx } = await setup();
    cleanups.push(t.cleanup);
    const hook = (await t.rampart.appHooks.create(ctx, { app_hook: { destination: "https://example.com/hooks", event_type: ["user.created"] } })) as Json;
    assert.match(hook.id, /^hk_[0-9A-Za-z]{22}$/);
    assert.equal(hook.object, "app_hook");
    assert.equal(hook.hook_type, "webhook");
    assert.equal(hook.realm_id, null);
    assert.match(hook.secret, /^hks_[0-9A-Za-z]{40}$/);
    assert.equal(((await t.rampart.appHooks.get(ctx, { id: hook.id })) as Json).secret, hook.secret);
    await assert.rejects(t.rampart.appHooks.create(ctx, { app_hook: { hook_type: "email", destination: "https://example.com" } }), (e: any) =>
      e.errors.hook_type?.[0]?.includes("email"),
    );
    await assert.rejects(t.rampart.appHooks.create(ctx, { app_hook: { destination: "ftp://example.com" } }), (e: any) => Array.isArray(e.errors.destination));
    await assert.rejects(t.rampart.appHooks.create(ctx, { app_hook: {} }), (e: any) => Array.isArray(e.errors.destination));
    await assert.rejects(
      t.rampart.appHooks.create(ctx, { app_hook: { destination: "https://x.test", realm_id: "rl_0000000000000000000000" } }),
      (e: any) => e.code === "realm.not_found",
    );
    const updated = (await t.rampart.appHooks.update(ctx, { id: hook.id, app_hook: { event_type: [] } })) as Json;
    assert.deepEqual(updated.event_type, []);
    await t.rampart.appHooks.delete(ctx, { id: hook.id });
    await assert.rejects(t.rampart.appHooks.get(ctx, { id: hook.id }), (e: any) => e.code === "app_hook.not_found");
    const types = ((await t.rampart.events.list(ctx, { event_type: "app_hook" })) as Json).collection.map((e: Json) => e.event_type);
    assert.deepEqual(types, ["app_hook.deleted", "app_hook.updated", "app_hook.created"]);
  });

  test("a delivery is a signed POST of the Get-an-event JSON, recorded as a notification", async () => {
    const { t, ctx, inRealm, realm } = await setup();
    const rx = await receiver(ok);
    cleanups.push(t.cleanup, rx.close);
    const hook = (await t.rampart.appHooks.create(ctx, { app_hook: { destination: rx.url, event_type: ["user.created"], realm_id: realm.id } })) as Json;
    const user = (await t.rampart.users.create(inRealm, { user: { username: "hooked" } })) as Json;
    await t.rampart.users.update(inRealm, { id: user.id, user: { first_name: "Not delivered" } });
    assert.equal(await t.rampart.webhooks.deliverDue(), 1, "only the matching event is delivered");
    assert.equal(rx.received.length, 1);
    const { headers, body } = rx.received[0]!;
    assert.equal(headers["content-type"], "application/json");
    const [, tPart, v1Part] = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(String(headers["x-rampart-signature"]))!;
    assert.equal(createHmac("sha256", hook.secret).update(`${tPart}.${body}`).digest("hex"), v1Part, "the signature verifies with the hook's secret");
    const sent = JSON.parse(body) as Json;
    assert.equal(headers["x-rampart-event-id"], sent.id);
    assert.equal(headers["x-rampart-hook-id"], hook.id);
    assert.equal(sent.event_type, "user.created");
    assert.equal(sent.user_id, user.id);
    const event = (await t.rampart.events.get(ctx, { id: sent.id })) as Json;
    const { notifications: sentNotes, ...sentRest } = sent;
    const { notifications, ...eventRest } = event;
    assert.deepEqual(sentRest, eventRest, "the body is the Get-an-event JSON");
    assert.equal(sentNotes[0].id, headers["x-rampart-delivery-id"]);
    assert.equal(notifications.length, 1);
    assert.deepEqual(
      [
        notifications[0].object,
        notifications[0].app_hook_id,
        notifications[0].state,
        notifications[0].attempts,
        notifications[0].last_destination,
        notifications[0].last_result,
      ],
      ["notification", hook.id, "completed", 1, rx.url, "HTTP 204"],
    );
    const listed = (await t.rampart.events.list(ctx, { user_id: user.id, expands: "notifications" })) as Json;
    assert.deepEqual(listed.collection.find((e: Json) => e.id === sent.id).notifications, notifications);
  });

  test("a receiver that fails twice then succeeds sees three attempts with growing gaps", async () => {
    let now = Date.UTC(2026, 5, 1);
    const { t, ctx, inRealm } = await setup({ clock: () => now });
    const rx = await receiver((n, _r, res) => res.writeHead(n <= 2 ? 503 : 200).end());
    cleanups.push(t.cleanup, rx.close);
    const hook = (await t.rampart.appHooks.create(ctx, { app_hook: { destination: rx.url, event_type: "user.created" } })) as Json;
    await t.rampart.users.create(inRealm, { user: { username: "retry" } });
    const times: number[] = [];
    for (let i = 0; i < 80 && rx.received.length < 3; i++) {
      const before = rx.received.length;
      await t.rampart.webhooks.deliverDue();
      if (rx.received.length > before) times.push(now / 1000);
      now += 1000; // one second per step
    }
    assert.equal(rx.received.length, 3);
    const gaps = [times[1]! - times[0]!, times[2]! - times[1]!];
    assert.ok(gaps[0]! >= 8 && gaps[0]! <= 13, `first retry after ~10 s, got ${gaps[0]}`);
    assert.ok(gaps[1]! > gaps[0]!, `gaps grow: ${gaps.join(", ")}`);
    const [d] = listDeliveries(t, hook.id);
    assert.deepEqual([d!.state, d!.attempts, d!.last_result], ["completed", 3, "HTTP 200"]);
  });

  test("after about two days of failures a delivery fails for good", async () => {
    let now = Date.UTC(2026, 5, 1);
    const { t, ctx, inRealm } = await setup({ clock: () => now });
    const rx = await receiver((_n, _r, res) => res.writeHead(500).end());
    cleanups.push(t.cleanup, rx.close);
    const hook = (await t.rampart.appHooks.create(ctx, { app_hook: { destination: rx.url } })) as Json;
    await t.rampart.users.create(inRealm, { user: { username: "doomed" } });
    for (let i = 0; i < 200; i++) {
      await t.rampart.webhooks.deliverDue();
      const rows = listDeliveries(t, hook.id);
      if (rows.every((r) => r.state !== "in_progress")) break;
      now += 3600 * 1000;
    }
    const rows = listDeliveries(t, hook.id);
    assert.ok(rows.length >= 1);
    for (const r of rows) {
      assert.equal(r.state, "failed");
      assert.ok(
        r.last_attempt_at - r.created_at >= 1.9 * 86400 && r.last_attempt_at - r.created_at <= 2.1 * 86400,
        `gave up after ~2 days: ${(r.last_attempt_at - r.created_at) / 86400}`,
      );
    }
  });

  test("a hung receiver times out and the delivery stays pending for a retry", async () => {
    const { t, ctx, inRealm } = await setup({ webhooks: { timeoutMs: 300 } });
    const rx = await receiver(() => {
      /* never answers */
    });
    cleanups.push(t.cleanup, rx.close);
    const hook = (await t.rampart.appHooks.create(ctx, { app_hook: { destination: rx.url } })) as Json;
    await t.rampart.users.create(inRealm, { user: { username: "slowpoke" } });
    await t.rampart.webhooks.deliverDue();
    const [d] = listDeliveries(t, hook.id).filter((r) => r.attempts > 0);
    assert.deepEqual([d!.state, d!.attempts, d!.last_result], ["in_progress", 1, "timeout"]);
    assert.ok(d!.next_attempt_at > d!.last_attempt_at);
  });

  test("a refused connection is retried; deactivating the hook cancels its pending deliveries", async () => {
    const { t, ctx, inRealm } = await setup();
    cleanups.push(t.cleanup);
    const dead = await receiver(ok);
    const url = dead.url;
    await dead.close(); // nobody listens there now
    const hook = (await t.rampart.appHooks.create(ctx, { app_hook: { destination: url } })) as Json;
    await t.rampart.users.create(inRealm, { user: { username: "refused" } });
    await t.rampart.webhooks.deliverDue();
    const attempted = listDeliveries(t, hook.id).find((r) => r.attempts === 1)!;
    assert.equal(attempted.last_result, "connection refused");
    assert.equal(attempted.state, "in_progress");
    await t.rampart.appHooks.update(ctx, { id: hook.id, app_hook: { state: "inactive" } });
    assert.ok(listDeliveries(t, hook.id).every((r) => r.state === "canceled"));
    const other = (await t.rampart.appHooks.create(ctx, { app_hook: { destination: url } })) as Json;
    await t.rampart.users.create(inRealm, { user: { username: "refused2" } });
    await t.rampart.appHooks.delete(ctx, { id: other.id });
    assert.ok(listDeliveries(t, other.id).length > 0);
    assert.ok(listDeliveries(t, other.id).every((r) => r.state === "canceled"));
  });

  test("a hung receiver delays no other hook", async () => {
    const { t, ctx, inRealm } = await setup({ webhooks: { timeoutMs: 5000, perDestination: 2 } });
    const hung = await receiver(() => {
      /* never answers */
    });
    const fast = await receiver(ok);
    cleanups.push(t.cleanup, hung.close, fast.close);
    await t.rampart.appHooks.create(ctx, { app_hook: { destination: hung.url, event_type: ["user.created"] } });
    await t.rampart.appHooks.create(ctx, { app_hook: { destination: fast.url, event_type: ["user.created"] } });
    for (let i = 0; i < 6; i++) await t.rampart.users.create(inRealm, { user: { username: `iso${i}` } });
    t.rampart.webhooks.start();
    for (let i = 0; i < 100 && fast.received.length < 6; i++) await new Promise((r) => setTimeout(r, 20));
    assert.equal(fast.received.length, 6, "every event reached the healthy receiver");
    assert.ok(hung.received.length <= 2, `at most perDestination attempts hang at once (${hung.received.length})`);
    await t.rampart.webhooks.stop(50);
  });

  test("shutdown waits a bounded time and leaves unfinished deliveries pending", async () => {
    const { t, ctx, inRealm } = await setup({ webhooks: { timeoutMs: 10_000 } });
    const hung = await receiver(() => {
      /* never answers */
    });
    cleanups.push(t.cleanup, hung.close);
    const hook = (await t.rampart.appHooks.create(ctx, { app_hook: { destination: hung.url } })) as Json;
    await t.rampart.users.create(inRealm, { user: { username: "pending" } });
    t.rampart.webhooks.start();
    for (let i = 0; i < 100 && hung.received.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
    assert.ok(hung.received.length >= 1);
    const startedAt = Date.now();
    await t.rampart.webhooks.stop(100);
    assert.ok(Date.now() - startedAt < 5000, "stop() returned long before the 10 s timeout");
    assert.ok(listDeliveries(t, hook.id).every((r) => r.state === "in_progress" && r.attempts === 0));
  });

  test("1000 events to 3 hooks: exactly 3000 completed notifications, none duplicated or lost", async () => {
    const { t, ctx, realm } = await setup({ webhooks: { concurrency: 16, perDestination: 6 } });
    const rx = await Promise.all([receiver(ok), receiver(ok), receiver(ok)]);
    cleanups.push(t.cleanup, ...rx.map((r) => r.close));
    const hooks: Json[] = [];
    for (const r of rx) hooks.push((await t.rampart.appHooks.create(ctx, { app_hook: { destination: r.url, event_type: ["org.created"] } })) as Json);
    t.rampart.webhooks.start();
    for (let i = 0; i < 1000; i++) await t.rampart.orgs.create({ ...ctx, realmId: realm.id as string }, { org: { name: `Org ${i}` } });
    const done = () => (t.sqlite().prepare("SELECT count(*) AS n FROM deliveries WHERE state = 'completed'").get() as { n: number }).n;
    for (let i = 0; i < 600 && done() < 3000; i++) await new Promise((r) => setTimeout(r, 50));
    await t.rampart.webhooks.stop(1000);
    assert.equal(done(), 3000);
    for (const [i, r] of rx.entries()) {
      const ids = r.received.map((x) => x.headers["x-rampart-delivery-id"]);
      assert.equal(ids.length, 1000, `hook ${i} got every event once`);
      assert.equal(new Set(ids).size, 1000, `hook ${i} got no duplicate`);
      assert.equal(new Set(r.received.map((x) => x.headers["x-rampart-event-id"])).size, 1000);
      assert.ok(r.received.every((x) => x.headers["x-rampart-hook-id"] === hooks[i]!.id));
    }
  });
});

describe("webhooks and realm deletion", () => {
  test("deleting a realm deletes its hooks (with events), cancels their deliveries, and queues nothing for them", async () => {
    const { t, ctx, inRealm, realm } = await setup();
    after(() => t.cleanup());
    // realm_id beside the wrapper (as 2015 clients send it) is the hook's realm.
    const hook = (await t.rampart.appHooks.create(ctx, { realm_id: realm.id, app_hook: { destination: "https://hooks.example.com/r" } })) as Json;
    assert.equal(hook.realm_id, realm.id);
    const everywhere = (await t.rampart.appHooks.create(ctx, {
      app_hook: { destination: "https://hooks.example.com/all", event_type: ["realm.deleted"] },
    })) as Json;
    await t.rampart.users.create(inRealm, { user: { username: "pending" } });
    assert.ok(listDeliveries(t, hook.id).some((d) => d.state === "in_progress"));
    await t.rampart.realms.update(ctx, { id: realm.id, realm: { state: "inactive" } });
    await t.rampart.realms.delete(ctx, { id: realm.id });
    await assert.rejects(t.rampart.appHooks.get(ctx, { id: hook.id }), (e: any) => e.code === "app_hook.not_found");
    assert.ok(listDeliveries(t, hook.id).every((d) => d.state === "canceled"));
    const deleted = ((await t.rampart.events.list(ctx, { app_hook_id: hook.id, event_type: "app_hook.deleted" })) as Json).collection;
    assert.equal(deleted.length, 1);
    const realmDeleted = ((await t.rampart.events.list(ctx, { realm_id: realm.id, event_type: "realm.deleted", expands: "notifications" })) as Json)
      .collection[0];
    assert.deepEqual(
      realmDeleted.notifications.map((n: Json) => n.app_hook_id),
      [everywhere.id],
      "only live hooks are notified",
    );
  });
});
