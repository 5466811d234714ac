/**
 * The contract cases: written once against ContractApi and run in-process, over HTTP on a
 * real socket and over gRPC against a real server (see test/contract_*_test.ts), and in-process
 * on Deno and Bun with their own SQLite (test/runtimes/). Each case creates its own realm, so
 * cases are independent.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { jwtVerify } from "jose";
import type { OpenRampart } from "@rampart/core";
import { type ContractRampart, openNodeRampart, type OpenContractRampart } from "./open.ts";
import { ApiError, type ContractApi } from "./api.ts";
import { identityCases } from "./identity_cases.ts";
import { appCases } from "./app_cases.ts";
import { hookCases } from "./hook_cases.ts";

/** Builds the surface under test over an open Rampart. */
export type ApiFactory = (rampart: OpenRampart, adminKey: string) => Promise<ContractApi>;

export type Json = Record<string, any>;

/** What case files share: the surface, the open Rampart and a few builders. */
export interface Kit {
  api: ContractApi;
  t: ContractRampart;
  call(op: Parameters<ContractApi["call"]>[0], params: Json, options?: Parameters<ContractApi["call"]>[2]): Promise<Json>;
  newRealm(attrs?: Json): Promise<Json>;
  newUser(realm: Json, attrs?: Json): Promise<Json>;
}

/** Asserts that `promise` rejects with an ApiError of `kind`/`code`, and returns it. */
export async function rejects(promise: Promise<unknown>, kind: string, code: string): Promise<ApiError> {
  try {
    await promise;
  } catch (err) {
    assert.ok(err instanceof ApiError, `expected ApiError, got ${String(err)}`);
    assert.equal(err.kind, kind, `kind (${err.message})`);
    assert.equal(err.code, code, `code (${err.message})`);
    assert.ok(Object.values(err.errors).flat().length >= 1, "errors has at least one message");
    return err;
  }
  assert.fail(`expected ${kind} ${code}, but the call succeeded`);
}

const REQUEST_ID = /^rq_[0-9A-Za-z]{22}$/;

/** Registers every contract case for one surface; `open` supplies the runtime's driver and hasher (default Node's). */
export function contractCases(surface: string, factory: ApiFactory, open: OpenContractRampart = openNodeRampart): void {
  describe(`contract (${surface})`, () => {
    let t: ContractRampart;
    let api: ContractApi;
    let counter = 0;

    before(async () => {
      t = await open({ throttle: { perUser: 3, perIp: 1000, windowSeconds: 900 } });
      api = await factory(t.rampart, t.adminKey);
    });
    after(async () => {
      await api?.close();
      await t?.cleanup();
    });

    const call = async (op: Parameters<ContractApi["call"]>[0], params: Json, options?: Parameters<ContractApi["call"]>[2]): Promise<Json> =>
      (await api.call(op, params, options)).body as Json;
    const newRealm = async (attrs: Json = {}): Promise<Json> => call("realms.create", { realm: { name: `Realm ${++counter}`, ...attrs } });
    const newUser = async (realm: Json, attrs: Json = {}): Promise<Json> =>
      call("users.create", { realm_id: realm.id, user: { username: `user${++counter}`, password: "correct horse battery", ...attrs } });
    const kit = (): Kit => ({ api, t, call, newRealm, newUser });
    identityCases(kit);
    appCases(kit);
    hookCases(kit);

    describe("realms", () => {
      test("create, get, update, list and delete a realm", async () => {
        const realm = await newRealm({ reference: "ref-1", custom: { plan: "gold" }, jwt_data: "memberships,custom" });
        assert.match(realm.id, /^rl_[0-9A-Za-z]{22}$/);
        assert.equal(realm.object, "realm");
        assert.equal(realm.state, "active");
        assert.equal(realm.session_type, "managed");
        assert.equal(realm.session_minutes, 360);
        assert.equal(realm.require_unique_emails, true);
        assert.deepEqual(realm.jwt_data, ["memberships", "custom"]);
        assert.match(realm.jwt_secret, /^jsk_[0-9A-Za-z]{43}$/);
        assert.deepEqual(realm.custom, { plan: "gold" });
        assert.equal(typeof realm.created_at, "number");

        const got = await call("realms.get", { id: realm.id });
        assert.equal(got.name, realm.name);
        assert.equal(got.jwt_secret, realm.jwt_secret);

        const updated = await call("realms.update", { id: realm.id, realm: { name: "Renamed", session_minutes: 60, id: "rl_ignored", object: "realm" } });
        assert.equal(updated.name, "Renamed");
        assert.equal(updated.session_minutes, 60);
        assert.equal(updated.id, realm.id, "read-only attributes echoed back are ignored");

        const listed = await call("realms.list", { reference: "ref-1" });
        assert.deepEqual(
          listed.collection.map((r: Json) => r.id),
          [realm.id],
        );
        assert.equal(listed.collection[0].custom, undefined, "lists omit custom unless expanded");
        const expanded = await call("realms.list", { reference: "ref-1", expands: "custom" });
        assert.deepEqual(expanded.collection[0].custom, { plan: "gold" });

        await rejects(call("realms.delete", { id: realm.id }), "FAILED_PRECONDITION", "realm.not_inactive");
        await call("realms.update", { id: realm.id, realm: { state: "inactive" } });
        assert.equal(await call("realms.delete", { id: realm.id }), undefined);
        await rejects(call("realms.get", { id: realm.id }), "NOT_FOUND", "realm.not_found");
      });

      test("invalid realm attributes are refused with every problem named, and nothing is written", async () => {
        const before = (await call("realms.list", { max_results: 1000 })).collection.length;
        // A schema has no field for an unknown attribute: typed surfaces cannot send `colour`.
        const unknown = api.typed ? {} : { colour: "red" };
        const err = await rejects(
          call("realms.create", { realm: { name: "", session_type: "sometimes", jwt_data: ["bogus"], ...unknown } }),
          "INVALID_ARGUMENT",
          "validation_failed",
        );
        assert.deepEqual(err.errors.name, ["can't be blank"]);
        assert.ok(err.errors.session_type?.[0]?.includes("managed"));
        assert.ok(err.errors.jwt_data?.[0]?.includes("bogus"));
        if (!api.typed) assert.deepEqual(err.errors.colour, ["is not a known attribute"]);
        assert.equal((await call("realms.list", { max_results: 1000 })).collection.length, before);
      });

      test("reset deletes the realm's users but keeps the realm", async () => {
        const realm = await newRealm();
        const user = await newUser(realm);
        const reset = await call("realms.reset", { id: realm.id });
        assert.equal(reset.id, realm.id);
        await rejects(call("users.get", { realm_id: realm.id, id: user.id }), "NOT_FOUND", "user.not_found");
        const events = await call("events.list", { realm_id: realm.id, event_type: "realm.reset" });
        assert.equal(events.collection.length, 1);
      });
    });

    describe("credentials and permissions", () => {
      test("a missing or invalid key is refused; a key lacking a permission is refused", async () => {
        await rejects(call("realms.list", {}, { apiKey: null }), "PERMISSION_DENIED", "api_key.missing");
        await rejects(
          call("realms.list", {}, { apiKey: "ko_0000000000000000000000-0000000000000000000000000000000000000000" }),
          "PERMISSION_DENIED",
          "api_key.invalid",
        );
        await rejects(call("realms.list", {}, { apiKey: "not a key" }), "PERMISSION_DENIED", "api_key.invalid");
        const readOnly = (await t.rampart.keys.create({ permissions: ["read"] })).key as string;
        const realm = await newRealm();
        await call("users.list", { realm_id: realm.id }, { apiKey: readOnly });
        await rejects(call("users.create", { realm_id: realm.id, user: { username: "x" } }, { apiKey: readOnly }), "PERMISSION_DENIED", "api_key.forbidden");
        await rejects(call("realms.list", {}, { apiKey: readOnly }), "PERMISSION_DENIED", "api_key.forbidden");
      });

      test("the realm comes from the header, realm_id, or realm_id inside the wrapper; none is 422", async () => {
        const realm = await newRealm();
        const a = await call("users.create", { user: { username: "via-header" } }, { realmId: realm.id });
        assert.equal(a.realm_id, realm.id);
        // `realm_id` inside the wrapper is a v1 form that a schema has no field for.
        if (!api.typed) {
          const b = await call("users.create", { user: { username: "via-wrapper", realm_id: realm.id } });
          assert.equal(b.realm_id, realm.id);
        }
        const err = await rejects(call("users.list", {}), "INVALID_ARGUMENT", "realm.required");
        assert.deepEqual(err.errors, { realm_id: ["is required"] });
        await rejects(call("users.list", { realm_id: "rl_0000000000000000000000" }), "NOT_FOUND", "realm.not_found");
      });

      test("an object of another realm is not found", async () => {
        const a = await newRealm();
        const b = await newRealm();
        const user = await newUser(a);
        await rejects(call("users.get", { realm_id: b.id, id: user.id }), "NOT_FOUND", "user.not_found");
        await rejects(call("users.update", { realm_id: b.id, id: user.id, user: { first_name: "x" } }), "NOT_FOUND", "user.not_found");
        await rejects(call("users.delete", { realm_id: b.id, id: user.id }), "NOT_FOUND", "user.not_found");
        assert.equal((await call("users.get", { realm_id: a.id, id: user.id })).first_name, null);
      });
    });

    describe("users", () => {
      test("create, get by id or username, update and delete a human user", async () => {
        const realm = await newRealm();
        const user = await call("users.create", {
          realm_id: realm.id,
          user: {
            username: "Alice.Smith",
            email: "Alice@Example.com",
            first_name: "Alice",
            last_name: "Smith",
            password: "correct horse battery",
            password_confirmation: "correct horse battery",
            custom: { tier: 2 },
          },
        });
        assert.match(user.id, /^usr_[0-9A-Za-z]{22}$/);
        assert.equal(user.object, "user");
        assert.equal(user.username, "alice.smith", "usernames are stored lower-cased");
        assert.equal(user.email, "alice@example.com");
        assert.equal(user.name, "Alice Smith");
        assert.equal(user.user_type, "human");
        assert.equal(user.state, "active");
        assert.deepEqual(user.custom, { tier: 2 });
        assert.equal(user.password, undefined, "passwords are write-only");
        assert.deepEqual(
          user.credentials.map((c: Json) => [c.object, c.credential_type]),
          [["credential", "password"]],
        );

        const byName = await call("users.get", { realm_id: realm.id, id: "ALICE.SMITH" });
        assert.equal(byName.id, user.id);
        const updated = await call("users.update", { realm_id: realm.id, id: user.id, user: { first_name: "Ally", reference: "crm-1" } });
        assert.equal(updated.name, "Ally Smith");
        assert.equal(updated.reference, "crm-1");
        assert.equal(await call("users.delete", { realm_id: realm.id, id: "alice.smith" }), undefined);
        await rejects(call("users.get", { realm_id: realm.id, id: user.id }), "NOT_FOUND", "user.not_found");
      });

      test("usernames are unique after NFKC and lower-casing; emails unique when the realm requires", async () => {
        const realm = await newRealm();
        await newUser(realm, { username: "bob", email: "bob@example.com" });
        for (const username of ["BOB", "ｂｏｂ"]) {
          const err = await rejects(newUser(realm, { username }), "INVALID_ARGUMENT", "user.username_taken");
          assert.deepEqual(err.errors, { username: ["has already been taken"] });
        }
        const err = await rejects(newUser(realm, { username: "bobby", email: "BOB@example.com" }), "INVALID_ARGUMENT", "user.email_taken");
        assert.deepEqual(err.errors, { email: ["has already been taken"] });
        const lax = await newRealm({ require_unique_emails: false });
        await newUser(lax, { email: "same@example.com" });
        await newUser(lax, { email: "same@example.com" });
      });

      test("bad user input is refused with the field named, and nothing is written", async () => {
        const realm = await newRealm();
        // "untyped": a value of the wrong JSON type or an unknown attribute, which a schema
        // cannot carry (typed surfaces skip those rows).
        const cases: [Json, string, "untyped"?][] = [
          [{ username: "nul\u0000byte" }, "username"],
          [{ username: "x".repeat(256) }, "username"],
          [{ username: "ok", first_name: 42 }, "first_name", "untyped"],
          [{ username: "ok", custom: "not an object" }, "custom", "untyped"],
          [{ username: "ok", password: "short" }, "password"],
          [{ username: "ok", password: "long enough pw", password_confirmation: "different" }, "password_confirmation"],
          [{ username: "ok", password: "p".repeat(1025) }, "password"],
          [{ username: "ok", email: "not-an-email" }, "email"],
          [{ username: "ok", is_admin: true }, "is_admin", "untyped"],
          [{ username: "ok", state: "sleeping" }, "state"],
        ];
        for (const [attrs, field, only] of cases) {
          if (only === "untyped" && api.typed) continue;
          const err = await rejects(call("users.create", { realm_id: realm.id, user: attrs }), "INVALID_ARGUMENT", "validation_failed");
          assert.ok(err.errors[field], `${field} named for ${JSON.stringify(attrs).slice(0, 80)}: ${err.message}`);
        }
        assert.equal((await call("users.list", { realm_id: realm.id })).collection.length, 0);
        assert.equal((await call("events.list", { realm_id: realm.id, event_type: "user" })).collection.length, 0);
      });

      test("email-username realms require an email as username", async () => {
        const realm = await newRealm({ username_validation_human: "email" });
        const user = await call("users.create", { realm_id: realm.id, user: { email: "Carol@Example.com" } });
        assert.equal(user.username, "carol@example.com");
        await rejects(call("users.create", { realm_id: realm.id, user: { username: "carol2" } }), "INVALID_ARGUMENT", "validation_failed");
      });

      test("an api user gets a generated key once, with the realm's prefix", async () => {
        const realm = await newRealm({ api_key_prefix: "acme_" });
        const user = await call("users.create", { realm_id: realm.id, user: { user_type: "api", api_key: "generate" } });
        assert.equal(user.user_type, "api");
        assert.match(user.api_key, /^acme_[0-9A-Za-z]{40}$/);
        assert.ok(user.username.length > 0);
        const again = await call("users.get", { realm_id: realm.id, id: user.id });
        // A typed surface cannot leave a field out: there the key is unset (null).
        if (api.typed) assert.equal(again.api_key, null, "the key is never shown again");
        else assert.equal(again.api_key, undefined, "the key is never shown again");
      });

      test("lists page with after/max_results, filter, sort and expand custom", async () => {
        const realm = await newRealm();
        const names = ["delta", "alpha", "echo", "charlie", "bravo"];
        const ids: string[] = [];
        for (const username of names)
          ids.push((await newUser(realm, { username, reference: username === "echo" ? "r-echo" : null, custom: { n: username } })).id);
        const page1 = await call("users.list", { realm_id: realm.id, max_results: 2 });
        assert.deepEqual(
          page1.collection.map((u: Json) => u.id),
          ids.slice(0, 2),
        );
        assert.equal(page1.more_results, true);
        assert.equal(page1.collection[0].custom, undefined);
        const page3 = await call("users.list", { realm_id: realm.id, max_results: 2, after: ids[3] });
        assert.deepEqual(
          page3.collection.map((u: Json) => u.id),
          [ids[4]],
        );
        assert.equal(page3.more_results, false);
        const byName = await call("users.list", { realm_id: realm.id, sort: "username", direction: "desc", max_results: 3, expands: ["custom"] });
        assert.deepEqual(
          byName.collection.map((u: Json) => u.username),
          ["echo", "delta", "charlie"],
        );
        assert.deepEqual(byName.collection[0].custom, { n: "echo" });
        const next = await call("users.list", { realm_id: realm.id, sort: "username", direction: "desc", max_results: 3, after: byName.collection[2].id });
        assert.deepEqual(
          next.collection.map((u: Json) => u.username),
          ["bravo", "alpha"],
        );
        const filtered = await call("users.list", { realm_id: realm.id, reference: "r-echo" });
        assert.deepEqual(
          filtered.collection.map((u: Json) => u.username),
          ["echo"],
        );
        await rejects(call("users.list", { realm_id: realm.id, max_results: 0 }), "INVALID_ARGUMENT", "validation_failed");
        await rejects(call("users.list", { realm_id: realm.id, max_results: 1001 }), "INVALID_ARGUMENT", "validation_failed");
        await rejects(call("users.list", { realm_id: realm.id, sort: "password" }), "INVALID_ARGUMENT", "validation_failed");
      });

      test("20 concurrent creates of one username: exactly one succeeds", async () => {
        const realm = await newRealm();
        const results = await Promise.allSettled(
          Array.from({ length: 20 }, (_, i) => newUser(realm, { username: i % 2 ? "Racer" : "racer", password: undefined })),
        );
        assert.equal(results.filter((r) => r.status === "fulfilled").length, 1);
        for (const r of results) if (r.status === "rejected") assert.equal((r.reason as ApiError).code, "user.username_taken");
        assert.equal((await call("users.list", { realm_id: realm.id, username: "racer" })).collection.length, 1);
      });
    });

    describe("authentication", () => {
      test("authenticate returns the user and a JWT with the spec's claims, and stores a session", async () => {
        const realm = await newRealm();
        const user = await newUser(realm, { username: "dave", first_name: "Dave", last_name: "Jones" });
        const result = await call("users.authenticate", {
          realm_id: realm.id,
          id: "Dave",
          password: "correct horse battery",
          request: { ip: "203.0.113.9", client: "contract" },
        });
        assert.equal(result.id, user.id);
        assert.equal(typeof result.token, "string");
        assert.equal(typeof result.last_login_at, "number");
        const { payload, protectedHeader } = await jwtVerify(result.token, new TextEncoder().encode(realm.jwt_secret), { algorithms: ["HS256"] });
        assert.equal(protectedHeader.alg, "HS256");
        assert.equal(payload.uid, user.id);
        assert.equal(payload.un, "dave");
        assert.equal(payload.fn, "Dave");
        assert.equal(payload.ln, "Jones");
        assert.equal(payload.n, "Dave Jones");
        assert.equal(payload.aud, realm.id);
        assert.match(String(payload.tk), /^kss_[0-9A-Za-z]{22}$/);
        assert.equal(typeof payload.iat, "number");
        assert.equal((payload.exp as number) - (payload.iat as number), 360 * 60);
        const events = await call("events.list", { realm_id: realm.id, event_type: "user.login" });
        assert.equal(events.collection[0].event_type, "user.login.succeeded");
        assert.deepEqual(events.collection[0].request, { ip: "203.0.113.9", client: "contract" });
      });

      test("wrong password, unknown user, inactive user and api user fail identically", async () => {
        const realm = await newRealm();
        await newUser(realm, { username: "erin" });
        await newUser(realm, { username: "frank", state: "inactive" });
        const api = await call("users.create", { realm_id: realm.id, user: { user_type: "api" } });
        const failures: ApiError[] = [];
        for (const [id, password] of [
          ["erin", "wrong password!"],
          ["nobody", "correct horse battery"],
          ["frank", "correct horse battery"],
          [api.id, "correct horse battery"],
        ]) {
          failures.push(await rejects(call("users.authenticate", { realm_id: realm.id, id, password }), "UNAUTHENTICATED", "user.authentication_failed"));
        }
        for (const f of failures) assert.deepEqual(f.errors, failures[0]!.errors);
        const failed = await call("events.list", { realm_id: realm.id, event_type: "user.login.failed" });
        assert.equal(failed.collection.length, 4);
      });

      test("repeated failures are throttled with a retry time; other users are not affected", async () => {
        const realm = await newRealm();
        await newUser(realm, { username: "gina" });
        await newUser(realm, { username: "hank" });
        for (let i = 0; i < 3; i++)
          await rejects(
            call("users.authenticate", { realm_id: realm.id, id: "gina", password: "wrong password!" }),
            "UNAUTHENTICATED",
            "user.authentication_failed",
          );
        const err = await rejects(
          call("users.authenticate", { realm_id: realm.id, id: "gina", password: "correct horse battery" }),
          "RESOURCE_EXHAUSTED",
          "user.throttled",
        );
        assert.ok(err.retryAfter !== undefined && err.retryAfter > 0 && err.retryAfter <= 900, `retryAfter ${err.retryAfter}`);
        // Unknown usernames are throttled the same way.
        for (let i = 0; i < 3; i++)
          await rejects(
            call("users.authenticate", { realm_id: realm.id, id: "ghost", password: "wrong password!" }),
            "UNAUTHENTICATED",
            "user.authentication_failed",
          );
        await rejects(call("users.authenticate", { realm_id: realm.id, id: "ghost", password: "wrong password!" }), "RESOURCE_EXHAUSTED", "user.throttled");
        const ok = await call("users.authenticate", { realm_id: realm.id, id: "hank", password: "correct horse battery" });
        assert.equal(ok.username, "hank");
      });
    });

    describe("events", () => {
      test("every write records an event with the request hash and the call's request id", async () => {
        const realm = await newRealm();
        const { body, requestId } = await api.call("users.create", {
          realm_id: realm.id,
          user: { username: "ivy" },
          request: { ip: "2001:db8::1", client: "Mozilla/5.0" },
        });
        assert.match(requestId, REQUEST_ID);
        const list = await call("events.list", { realm_id: realm.id, user_id: (body as Json).id });
        assert.equal(list.collection.length, 1);
        const event = list.collection[0];
        assert.equal(event.object, "event");
        assert.equal(event.event_type, "user.created");
        assert.equal(event.user_id, (body as Json).id);
        assert.equal(event.realm_id, realm.id);
        assert.deepEqual(event.request, { ip: "2001:db8::1", client: "Mozilla/5.0" });
        assert.equal(event.ip, "2001:db8::1");
        assert.equal(event.request_id, requestId);
        const got = await call("events.get", { id: event.id });
        assert.deepEqual(got.notifications, []);
        assert.equal(got.id, event.id);
      });

      test("deprecated top-level ip/client are mapped into request; a bad ip is refused", async () => {
        const realm = await newRealm();
        // The deprecated top-level forms are v1 JSON only: a schema has no field for them.
        if (!api.typed) {
          const user = await call("users.create", { realm_id: realm.id, user: { username: "jack" }, ip: "198.51.100.7", client: "old-client" });
          const event = (await call("events.list", { realm_id: realm.id, user_id: user.id })).collection[0];
          assert.deepEqual(event.request, { ip: "198.51.100.7", client: "old-client" });
        }
        const err = await rejects(
          call("users.create", { realm_id: realm.id, user: { username: "jill" }, request: { ip: "999.1.1.1" } }),
          "INVALID_ARGUMENT",
          "validation_failed",
        );
        assert.ok(err.errors.request);
        await rejects(call("users.get", { realm_id: realm.id, id: "jill" }), "NOT_FOUND", "user.not_found");
      });

      test("lists are newest first, filter by type prefix (several) and page", async () => {
        const realm = await newRealm();
        const user = await newUser(realm);
        await call("users.update", { realm_id: realm.id, id: user.id, user: { first_name: "K" } });
        await rejects(
          call("users.authenticate", { realm_id: realm.id, id: user.id, password: "wrong password!" }),
          "UNAUTHENTICATED",
          "user.authentication_failed",
        );
        const all = await call("events.list", { realm_id: realm.id });
        assert.deepEqual(
          all.collection.map((e: Json) => e.event_type),
          ["user.login.failed", "user.updated", "user.created", "realm.created"],
        );
        // A typed surface cannot leave a list out: there an unexpanded list is empty.
        if (api.typed) assert.deepEqual(all.collection[0].notifications, [], "lists include notifications only when expanded");
        else assert.equal(all.collection[0].notifications, undefined, "lists include notifications only when expanded");
        const typed = await call("events.list", { realm_id: realm.id, event_type: "user.created,realm" });
        assert.deepEqual(
          typed.collection.map((e: Json) => e.event_type),
          ["user.created", "realm.created"],
        );
        const asc = await call("events.list", { realm_id: realm.id, direction: "asc", max_results: 1, expands: "notifications" });
        assert.equal(asc.collection[0].event_type, "realm.created");
        assert.deepEqual(asc.collection[0].notifications, []);
        assert.equal(asc.more_results, true);
        await rejects(call("events.get", { id: "ev_0000000000000000000000" }), "NOT_FOUND", "event.not_found");
      });
    });
  });
}
