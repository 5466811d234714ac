/**
 * Contract cases for app hooks (webhooks) and the notifications events carry. Registered
 * inside contractCases().
 *
 * The suites never start the delivery worker, so a delivery stays `in_progress` with no
 * attempt: what is checked here is the outbox as the API shows it (one notification per
 * matching active hook, written with the event; cancelled when the hook is deactivated or
 * deleted). Sending, signing and retrying are covered by test/webhooks_test.ts.
 *
 * App hooks are account-wide and every case of a suite shares one Rampart: each case deletes
 * the hooks it created, so that no other case's events gain notifications.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { ApiError } from "./api.ts";
import { type Json, type Kit, rejects } from "./cases.ts";

const HOOK_ID = /^hk_[0-9A-Za-z]{22}$/;
const UNKNOWN_REALM = "rl_0000000000000000000000";
const UNKNOWN_HOOK = "hk_0000000000000000000000";

/** Two letters naming `i` (< 676): event types are lower-case words without digits. */
const letters = (i: number): string => String.fromCharCode(97 + Math.floor(i / 26), 97 + (i % 26));

/** Registers the app hook cases; `kit()` is valid once the suite's before() has run. */
export function hookCases(kit: () => Kit): void {
  /** Runs `body` with a hook factory whose hooks are deleted afterwards, pass or fail. */
  async function withHooks(body: (newHook: (attrs?: Json) => Promise<Json>) => Promise<void>): Promise<void> {
    const { call } = kit();
    const created: string[] = [];
    const newHook = async (attrs: Json = {}): Promise<Json> => {
      const hook = await call("appHooks.create", { app_hook: { destination: "https://hooks.example.com/rampart", ...attrs } });
      created.push(hook.id);
      return hook;
    };
    try {
      await body(newHook);
    } finally {
      for (const id of created) {
        await call("appHooks.delete", { id }).catch((err: unknown) => {
          if (!(err instanceof ApiError && err.code === "app_hook.not_found")) throw err;
        });
      }
    }
  }

  describe("app hooks", () => {
    test("create (defaults, secret), get, update, list and delete", () =>
      withHooks(async (newHook) => {
        const { call, newRealm } = kit();
        const hook = await newHook();
        assert.match(hook.id, HOOK_ID);
        assert.equal(hook.object, "app_hook");
        assert.equal(hook.state, "active");
        assert.equal(hook.hook_type, "webhook");
        assert.deepEqual(hook.event_type, [], "no event types: every event");
        assert.equal(hook.realm_id, null, "no realm: every realm");
        assert.equal(hook.destination, "https://hooks.example.com/rampart");
        assert.match(hook.secret, /^hks_[0-9A-Za-z]{40}$/);
        assert.equal(typeof hook.created_at, "number");

        const got = await call("appHooks.get", { id: hook.id });
        assert.deepEqual(got, hook, "Get returns the same hook, signing secret included");

        const realm = await newRealm();
        const typed = await call("appHooks.update", {
          id: hook.id,
          app_hook: { event_type: ["user.created", "user.deleted", "user.created"], realm_id: realm.id, secret: "hks_chosen", id: UNKNOWN_HOOK },
        });
        assert.deepEqual(typed.event_type, ["user.created", "user.deleted"], "duplicates are dropped");
        assert.equal(typed.realm_id, realm.id);
        assert.equal(typed.secret, hook.secret, "the secret is read-only");
        assert.equal(typed.id, hook.id, "read-only attributes echoed back are ignored");

        const moved = await call("appHooks.update", { id: hook.id, app_hook: { destination: "http://127.0.0.1:9999/in", state: "inactive" } });
        assert.equal(moved.destination, "http://127.0.0.1:9999/in");
        assert.equal(moved.state, "inactive");
        assert.deepEqual(moved.event_type, ["user.created", "user.deleted"], "an omitted event_type is left as it is");
        assert.equal(moved.realm_id, realm.id, "an omitted realm_id is left as it is");

        const cleared = await call("appHooks.update", { id: hook.id, app_hook: { event_type: [], realm_id: "" } });
        assert.deepEqual(cleared.event_type, [], "an empty list means every event again");
        assert.equal(cleared.realm_id, null, "a blank realm_id means every realm again");
        await call("appHooks.update", { id: hook.id, app_hook: { event_type: ["org.created"] } });
        assert.deepEqual((await call("appHooks.update", { id: hook.id, app_hook: { event_type: null } })).event_type, [], "null clears too");
        assert.equal((await call("appHooks.get", { id: hook.id })).secret, hook.secret);

        const other = await newHook({ event_type: ["user.login.failed"], realm_id: realm.id });
        assert.deepEqual(other.event_type, ["user.login.failed"]);
        const forRealm = await call("appHooks.list", { realm_id: realm.id });
        assert.deepEqual(
          forRealm.collection.map((h: Json) => h.id),
          [other.id],
          "realm_id filters on the hook's own realm",
        );
        assert.equal(forRealm.more_results, false);
        const inactive = await call("appHooks.list", { state: "inactive" });
        assert.deepEqual(
          inactive.collection.map((h: Json) => h.id),
          [hook.id],
        );
        const page = await call("appHooks.list", { max_results: 1 });
        assert.deepEqual(
          page.collection.map((h: Json) => h.id),
          [hook.id],
          "lists are in id (creation) order",
        );
        assert.equal(page.more_results, true);
        const next = await call("appHooks.list", { max_results: 1, after: hook.id });
        assert.deepEqual(
          next.collection.map((h: Json) => h.id),
          [other.id],
        );
        assert.equal(page.collection[0].secret, hook.secret, "lists carry the secret too");

        assert.equal(await call("appHooks.delete", { id: hook.id }), undefined);
        await rejects(call("appHooks.get", { id: hook.id }), "NOT_FOUND", "app_hook.not_found");
        await rejects(call("appHooks.update", { id: hook.id, app_hook: { state: "active" } }), "NOT_FOUND", "app_hook.not_found");
        await rejects(call("appHooks.delete", { id: hook.id }), "NOT_FOUND", "app_hook.not_found");
        await rejects(call("appHooks.get", { id: "not-a-hook" }), "NOT_FOUND", "app_hook.not_found");
      }));

    test("the realm header does not restrict app hooks: they belong to the account", () =>
      withHooks(async (newHook) => {
        const { call, newRealm } = kit();
        const [a, b] = [await newRealm(), await newRealm()];
        const hook = await newHook({ realm_id: a.id });
        assert.equal((await call("appHooks.get", { id: hook.id }, { realmId: b.id })).id, hook.id);
        const listed = await call("appHooks.list", {}, { realmId: b.id });
        assert.ok(
          listed.collection.some((h: Json) => h.id === hook.id),
          "the realm header does not filter the list",
        );
      }));

    test("email hooks, bad destinations and bad event types are refused, naming the field", () =>
      withHooks(async () => {
        const { api, call } = kit();
        const destination = "https://hooks.example.com/rampart";
        // "untyped": values a schema cannot carry (typed surfaces skip those rows).
        const cases: [Json, string, "untyped"?][] = [
          [{ destination, hook_type: "email" }, "hook_type"],
          [{ destination, hook_type: "carrier_pigeon" }, "hook_type"],
          [{ destination: "ftp://hooks.example.com/rampart" }, "destination"],
          [{ destination: "/relative/path" }, "destination"],
          [{ destination: "hooks.example.com/rampart" }, "destination"],
          [{ destination: "https://user:secret@hooks.example.com/rampart" }, "destination"],
          [{ destination: "https://hooks.example.com/rampart#fragment" }, "destination"],
          [{ destination: "javascript:alert(1)" }, "destination"],
          [{ destination: `https://hooks.example.com/${"x".repeat(2100)}` }, "destination"],
          [{}, "destination"],
          [{ destination: "" }, "destination"],
          [{ destination, event_type: ["User Created!"] }, "event_type"],
          [{ destination, event_type: Array.from({ length: 101 }, (_, i) => `custom.type_${letters(i)}`) }, "event_type"],
          [{ destination, state: "paused" }, "state"],
          [{ destination, event_type: 42 }, "event_type", "untyped"],
          [{ destination, colour: "red" }, "colour", "untyped"],
        ];
        const before = (await call("appHooks.list", { max_results: 1000 })).collection.length;
        for (const [app_hook, field, only] of cases) {
          if (only === "untyped" && api.typed) continue;
          const err = await rejects(call("appHooks.create", { app_hook }), "INVALID_ARGUMENT", "validation_failed");
          assert.ok(err.errors[field], `${field} named for ${JSON.stringify(app_hook).slice(0, 80)}: ${err.message}`);
        }
        const email = await rejects(call("appHooks.create", { app_hook: { destination, hook_type: "email" } }), "INVALID_ARGUMENT", "validation_failed");
        assert.match(email.errors.hook_type![0]!, /email/, "the refusal says email delivery is not available");
        assert.equal((await call("appHooks.list", { max_results: 1000 })).collection.length, before, "nothing was created");
      }));

    test("an unknown realm is not found; a bad update changes nothing", () =>
      withHooks(async (newHook) => {
        const { call } = kit();
        await rejects(
          call("appHooks.create", { app_hook: { destination: "https://hooks.example.com/a", realm_id: UNKNOWN_REALM } }),
          "NOT_FOUND",
          "realm.not_found",
        );
        const hook = await newHook({ event_type: ["user.created"] });
        await rejects(call("appHooks.update", { id: hook.id, app_hook: { realm_id: UNKNOWN_REALM } }), "NOT_FOUND", "realm.not_found");
        for (const app_hook of [{ destination: "ftp://x.example.com/" }, { destination: "" }, { hook_type: "email" }, { event_type: ["Bad Type"] }]) {
          await rejects(call("appHooks.update", { id: hook.id, app_hook }), "INVALID_ARGUMENT", "validation_failed");
        }
        assert.deepEqual(await call("appHooks.get", { id: hook.id }), hook);
        const types = (await call("events.list", { app_hook_id: hook.id })).collection.map((e: Json) => e.event_type);
        assert.deepEqual(types, ["app_hook.created"], "refused changes write no event");
      }));

    test("app hooks need the admin_realm permission", () =>
      withHooks(async (newHook) => {
        const { call, t } = kit();
        const hook = await newHook();
        const key = (await t.rampart.keys.create({ permissions: ["read", "write"] })).key as string;
        const as = { apiKey: key };
        await rejects(call("appHooks.list", {}, as), "PERMISSION_DENIED", "api_key.forbidden");
        await rejects(call("appHooks.get", { id: hook.id }, as), "PERMISSION_DENIED", "api_key.forbidden");
        await rejects(call("appHooks.create", { app_hook: { destination: "https://hooks.example.com/b" } }, as), "PERMISSION_DENIED", "api_key.forbidden");
        await rejects(call("appHooks.update", { id: hook.id, app_hook: { state: "inactive" } }, as), "PERMISSION_DENIED", "api_key.forbidden");
        await rejects(call("appHooks.delete", { id: hook.id }, as), "PERMISSION_DENIED", "api_key.forbidden");
        await rejects(call("appHooks.list", {}, { apiKey: null }), "PERMISSION_DENIED", "api_key.missing");
        assert.equal((await call("appHooks.get", { id: hook.id })).state, "active", "the refused update changed nothing");
      }));

    test("every change writes an app_hook event with the hook's id, realm and the caller's request", () =>
      withHooks(async (newHook) => {
        const { api, call, newRealm } = kit();
        const realm = await newRealm();
        const request = { ip: "192.0.2.44", client: "hook-admin" };
        const { body, requestId } = await api.call("appHooks.create", {
          app_hook: { destination: "https://hooks.example.com/events", realm_id: realm.id, event_type: ["org.created"] },
          request,
        });
        const hook = body as Json;
        await call("appHooks.update", { id: hook.id, app_hook: { state: "inactive" }, request });
        await call("appHooks.delete", { id: hook.id, request });
        const events = (await call("events.list", { app_hook_id: hook.id })).collection;
        assert.deepEqual(
          events.map((e: Json) => e.event_type),
          ["app_hook.deleted", "app_hook.updated", "app_hook.created"],
        );
        for (const e of events) {
          assert.equal(e.app_hook_id, hook.id);
          assert.equal(e.realm_id, realm.id, "a hook's events belong to its realm");
          assert.deepEqual(e.request, request);
        }
        assert.equal(events[2].request_id, requestId);
        assert.deepEqual(
          (await call("events.list", { realm_id: realm.id, event_type: "app_hook" })).collection.map((e: Json) => e.id),
          events.map((e: Json) => e.id),
        );
        // A hook for every realm writes events that belong to no realm.
        const global = await newHook();
        const created = (await call("events.list", { app_hook_id: global.id })).collection;
        assert.deepEqual(
          created.map((e: Json) => [e.event_type, e.realm_id]),
          [["app_hook.created", null]],
        );
      }));
  });

  describe("notifications", () => {
    test("an event matching an active hook carries one in_progress notification; an excluded type carries none", () =>
      withHooks(async (newHook) => {
        const { api, call, newRealm, newUser } = kit();
        const realm = await newRealm();
        const hook = await newHook({ realm_id: realm.id, event_type: ["user.created"] });
        const user = await newUser(realm);
        await call("users.update", { realm_id: realm.id, id: user.id, user: { first_name: "Nora" } });
        const [updated, created] = (await call("events.list", { realm_id: realm.id, user_id: user.id })).collection as Json[];
        assert.deepEqual([updated!.event_type, created!.event_type], ["user.updated", "user.created"]);

        const got = await call("events.get", { id: created!.id });
        assert.equal(got.notifications.length, 1);
        const [notification] = got.notifications as Json[];
        assert.match(notification!.id, /^ent_[0-9A-Za-z]{22}$/);
        assert.deepEqual(
          { ...notification, id: undefined },
          {
            id: undefined,
            object: "notification",
            app_hook_id: hook.id,
            event_id: created!.id,
            state: "in_progress",
            attempts: 0,
            last_attempt_at: null,
            last_destination: null,
            last_result: null,
          },
          "not attempted yet: the suites run no delivery worker",
        );
        assert.deepEqual((await call("events.get", { id: updated!.id })).notifications, [], "user.updated is not in the hook's event_type");
        const hookCreated = (await call("events.list", { app_hook_id: hook.id })).collection[0];
        assert.deepEqual((await call("events.get", { id: hookCreated.id })).notifications, [], "nor is app_hook.created");

        const expanded = await call("events.list", { realm_id: realm.id, user_id: user.id, expands: "notifications" });
        assert.deepEqual(
          expanded.collection.map((e: Json) => e.notifications),
          [[], [notification]],
          "List events with expands=notifications carries the same",
        );
        const plain = await call("events.list", { realm_id: realm.id, user_id: user.id });
        // A typed surface cannot leave a list out: there an unexpanded list is empty.
        for (const e of plain.collection) {
          if (api.typed) assert.deepEqual(e.notifications, []);
          else assert.equal(e.notifications, undefined, "lists include notifications only when expanded");
        }
      }));

    test("a hook with no event types gets every event of its realm, and nothing from other realms or once inactive", () =>
      withHooks(async (newHook) => {
        const { call, newRealm, newUser } = kit();
        const [mine, other] = [await newRealm(), await newRealm()];
        const everything = await newHook({ realm_id: mine.id });
        const logins = await newHook({ realm_id: mine.id, event_type: ["user.login.failed"] });
        const user = await newUser(mine, { username: "hooked" });
        await rejects(
          call("users.authenticate", { realm_id: mine.id, id: "hooked", password: "wrong password!" }),
          "UNAUTHENTICATED",
          "user.authentication_failed",
        );
        const stranger = await newUser(other);
        const events = (await call("events.list", { realm_id: mine.id, user_id: user.id, expands: "notifications" })).collection as Json[];
        assert.deepEqual(
          events.map((e) => [e.event_type, e.notifications.map((n: Json) => n.app_hook_id)]),
          [
            ["user.login.failed", [everything.id, logins.id]],
            ["user.created", [everything.id]],
          ],
        );
        for (const e of events) for (const n of e.notifications) assert.equal(n.event_id, e.id);
        const elsewhere = (await call("events.list", { realm_id: other.id, user_id: stranger.id, expands: "notifications" })).collection as Json[];
        assert.deepEqual(
          elsewhere.map((e) => e.notifications),
          [[]],
          "a hook limited to one realm gets nothing from another",
        );

        await call("appHooks.update", { id: everything.id, app_hook: { state: "inactive" } });
        const renamed = await call("users.update", { realm_id: mine.id, id: user.id, user: { last_name: "Later" } });
        const later = (await call("events.list", { realm_id: mine.id, user_id: renamed.id, event_type: "user.updated", expands: "notifications" })).collection;
        assert.deepEqual(
          later.map((e: Json) => e.notifications),
          [[]],
          "an inactive hook gets nothing",
        );
      }));

    test("deactivating or deleting a hook cancels its pending notifications", () =>
      withHooks(async (newHook) => {
        const { call, newRealm, newUser } = kit();
        const realm = await newRealm();
        const paused = await newHook({ realm_id: realm.id, event_type: ["user.created"] });
        const removed = await newHook({ realm_id: realm.id, event_type: ["user.created"] });
        const user = await newUser(realm);
        const event = (await call("events.list", { realm_id: realm.id, user_id: user.id, event_type: "user.created" })).collection[0];
        const states = async (): Promise<string[][]> =>
          ((await call("events.get", { id: event.id })).notifications as Json[]).map((n) => [n.app_hook_id, n.state]);
        assert.deepEqual(await states(), [
          [paused.id, "in_progress"],
          [removed.id, "in_progress"],
        ]);
        await call("appHooks.update", { id: paused.id, app_hook: { state: "inactive" } });
        await call("appHooks.delete", { id: removed.id });
        assert.deepEqual(await states(), [
          [paused.id, "canceled"],
          [removed.id, "canceled"],
        ]);
        // Reactivating a hook does not revive what was cancelled.
        await call("appHooks.update", { id: paused.id, app_hook: { state: "active" } });
        assert.deepEqual(await states(), [
          [paused.id, "canceled"],
          [removed.id, "canceled"],
        ]);
      }));
  });
}
