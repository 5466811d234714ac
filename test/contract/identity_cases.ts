/**
 * Contract cases for the identity model: orgs, memberships, API users and credentials,
 * sessions, expands, password and signup tokens. Registered inside contractCases().
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { decodeJwt, jwtVerify, SignJWT, UnsecuredJWT } from "jose";
import type { ApiError } from "./api.ts";
import { type Json, type Kit, rejects } from "./cases.ts";

const PASSWORD = "correct horse battery";
const HOUR = 3600;

/** Registers the identity cases; `kit()` is valid once the suite's before() has run. */
export function identityCases(kit: () => Kit): void {
  describe("orgs and memberships", () => {
    test("org CRUD, default name order, filters and expands=custom", async () => {
      const { call, newRealm } = kit();
      const realm = await newRealm();
      const r = { realm_id: realm.id };
      const zeta = await call("orgs.create", { ...r, org: { name: "Zeta", reference: "z", custom: { seats: 5 } } });
      const alpha = await call("orgs.create", { ...r, org: { name: "Alpha" } });
      assert.match(zeta.id, /^org_[0-9A-Za-z]{22}$/);
      assert.equal(zeta.object, "org");
      assert.deepEqual(zeta.custom, { seats: 5 });
      const list = await call("orgs.list", r);
      assert.deepEqual(
        list.collection.map((o: Json) => o.name),
        ["Alpha", "Zeta"],
      );
      assert.equal(list.collection[0].custom, undefined);
      const expanded = await call("orgs.list", { ...r, reference: "z", expands: "custom" });
      assert.deepEqual(expanded.collection[0].custom, { seats: 5 });
      const updated = await call("orgs.update", { ...r, id: alpha.id, org: { state: "inactive" } });
      assert.equal(updated.state, "inactive");
      assert.deepEqual(
        (await call("orgs.list", { ...r, state: "inactive" })).collection.map((o: Json) => o.id),
        [alpha.id],
      );
      await rejects(call("orgs.create", { ...r, org: { name: "" } }), "INVALID_ARGUMENT", "validation_failed");
      const other = await newRealm();
      await rejects(call("orgs.get", { realm_id: other.id, id: zeta.id }), "NOT_FOUND", "org.not_found");
    });

    test("memberships: permissions always an array, one per (user, org), embeds per list kind", async () => {
      const { call, newRealm, newUser } = kit();
      const realm = await newRealm();
      const r = { realm_id: realm.id };
      const user = await newUser(realm);
      const org = await call("orgs.create", { ...r, org: { name: "Acme" } });
      const m = await call("memberships.create", { ...r, membership: { user_id: user.id, org_id: org.id, permissions: ["admin", "billing:read"] } });
      assert.match(m.id, /^mb_[0-9A-Za-z]{22}$/);
      assert.equal(m.object, "membership");
      assert.deepEqual(m.permissions, ["admin", "billing:read"]);
      const bare = await call("memberships.create", { ...r, membership: { user_id: user.id } });
      assert.equal(bare.org_id, null);
      assert.deepEqual(bare.permissions, [], "permissions is always an array");

      const dup = await rejects(call("memberships.create", { ...r, membership: { user_id: user.id, org_id: org.id } }), "INVALID_ARGUMENT", "membership.taken");
      assert.ok(dup.errors.org_id);
      await rejects(call("memberships.create", { ...r, membership: { user_id: user.id } }), "INVALID_ARGUMENT", "membership.taken");

      const byUser = await call("memberships.list", { ...r, user_id: user.id });
      assert.equal(byUser.collection.length, 2);
      const withOrg = byUser.collection.find((x: Json) => x.id === m.id);
      assert.equal(withOrg.org.object, "org");
      assert.equal(withOrg.org.id, org.id);
      const byOrg = await call("memberships.list", { ...r, org_id: org.id });
      assert.equal(byOrg.collection.length, 1);
      assert.equal(byOrg.collection[0].user.object, "user");
      assert.equal(byOrg.collection[0].user.id, user.id);
      const err = await rejects(call("memberships.list", r), "INVALID_ARGUMENT", "validation_failed");
      assert.ok(err.errors.user_id);

      const changed = await call("memberships.update", { ...r, id: m.id, membership: { permissions: "read,write" } });
      assert.deepEqual(changed.permissions, ["read", "write"]);
      await call("memberships.delete", { ...r, id: bare.id });
      await rejects(call("memberships.get", { ...r, id: bare.id }), "NOT_FOUND", "membership.not_found");
      assert.equal((await call("users.get", { ...r, id: user.id })).membership_count, 1);
    });

    test("bad memberships are refused, naming the field", async () => {
      const { api, call, newRealm, newUser } = kit();
      const realm = await newRealm();
      const other = await newRealm();
      const r = { realm_id: realm.id };
      const user = await newUser(realm);
      const stranger = await newUser(other);
      // "untyped": a value a schema cannot carry (a number in a list of strings, a time that
      // is no time); typed surfaces skip those rows.
      const cases: [Json, string, "untyped"?][] = [
        [{ user_id: user.id, permissions: ["has space"] }, "permissions"],
        [{ user_id: user.id, permissions: Array.from({ length: 21 }, (_, i) => `p${i}`) }, "permissions"],
        [{ user_id: user.id, permissions: [42] }, "permissions", "untyped"],
        [{ user_id: user.id, expires_at: "next tuesday" }, "expires_at", "untyped"],
        [{ user_id: stranger.id }, "user_id"],
        [{ user_id: user.id, org_id: "org_0000000000000000000000" }, "org_id"],
        [{}, "user_id"],
      ];
      for (const [membership, field, only] of cases) {
        if (only === "untyped" && api.typed) continue;
        const err = await rejects(call("memberships.create", { ...r, membership }), "INVALID_ARGUMENT", "validation_failed");
        assert.ok(err.errors[field], `${field}: ${err.message}`);
      }
      assert.equal((await call("memberships.list", { ...r, user_id: user.id })).collection.length, 0);
    });

    test("expired memberships are invisible everywhere; expires_at takes unix seconds or ISO-8601", async () => {
      const { call, newRealm, newUser } = kit();
      const realm = await newRealm({ jwt_data: ["memberships", "orgs"] });
      const r = { realm_id: realm.id };
      const user = await newUser(realm);
      const past = await call("orgs.create", { ...r, org: { name: "Past" } });
      const future = await call("orgs.create", { ...r, org: { name: "Future" } });
      const expired = await call("memberships.create", {
        ...r,
        membership: { user_id: user.id, org_id: past.id, expires_at: Math.floor(Date.now() / 1000) - 10 },
      });
      const iso = new Date(Date.now() + 48 * HOUR * 1000).toISOString();
      const live = await call("memberships.create", { ...r, membership: { user_id: user.id, org_id: future.id, expires_at: iso, permissions: ["p"] } });
      assert.equal(live.expires_at, Math.floor(Date.parse(iso) / 1000));
      await rejects(call("memberships.get", { ...r, id: expired.id }), "NOT_FOUND", "membership.not_found");
      assert.deepEqual(
        (await call("memberships.list", { ...r, user_id: user.id })).collection.map((x: Json) => x.id),
        [live.id],
      );
      assert.equal((await call("users.get", { ...r, id: user.id })).membership_count, 1);
      const got = await call("users.get", { ...r, id: user.id, expands: "memberships" });
      assert.deepEqual(
        got.memberships.map((x: Json) => x.id),
        [live.id],
      );
      const org = await call("orgs.get", { ...r, id: past.id, expands: "memberships" });
      assert.deepEqual(org.memberships, []);
      const auth = await call("users.authenticate", { ...r, id: user.id, password: PASSWORD });
      assert.deepEqual(decodeJwt(auth.token).m, [{ oid: future.id, p: ["p"], o: "Future" }]);
      // An expired membership does not block a new one for the same pair.
      const again = await call("memberships.create", { ...r, membership: { user_id: user.id, org_id: past.id } });
      assert.equal(again.org_id, past.id);
    });

    test("deleting an org deletes its memberships, each with an event", async () => {
      const { call, newRealm, newUser } = kit();
      const realm = await newRealm();
      const r = { realm_id: realm.id };
      const org = await call("orgs.create", { ...r, org: { name: "Doomed" } });
      const a = await newUser(realm);
      const b = await newUser(realm);
      const ma = await call("memberships.create", { ...r, membership: { user_id: a.id, org_id: org.id } });
      await call("memberships.create", { ...r, membership: { user_id: b.id, org_id: org.id } });
      await call("orgs.delete", { ...r, id: org.id });
      await rejects(call("memberships.get", { ...r, id: ma.id }), "NOT_FOUND", "membership.not_found");
      const events = await call("events.list", { ...r, org_id: org.id });
      assert.deepEqual(
        events.collection.map((e: Json) => e.event_type),
        ["org.deleted", "membership.deleted", "membership.deleted", "membership.created", "membership.created", "org.created"],
      );
    });

    test("10 concurrent creates of one (user, org) membership: exactly one succeeds", async () => {
      const { call, newRealm, newUser } = kit();
      const realm = await newRealm();
      const r = { realm_id: realm.id };
      const user = await newUser(realm);
      const org = await call("orgs.create", { ...r, org: { name: "Race" } });
      const results = await Promise.allSettled(
        Array.from({ length: 10 }, () => call("memberships.create", { ...r, membership: { user_id: user.id, org_id: org.id } })),
      );
      assert.equal(results.filter((x) => x.status === "fulfilled").length, 1);
      for (const x of results) if (x.status === "rejected") assert.equal((x.reason as ApiError).code, "membership.taken");
    });
  });

  describe("expands", () => {
    test("memberships expand on users, authenticate, orgs and sessions, with embedded objects", async () => {
      const { api, call, newRealm, newUser } = kit();
      const realm = await newRealm();
      const r = { realm_id: realm.id };
      const user = await newUser(realm);
      const org = await call("orgs.create", { ...r, org: { name: "Org" } });
      await call("memberships.create", { ...r, membership: { user_id: user.id, org_id: org.id, permissions: ["x"] } });
      const check = (memberships: Json[], embedded: "org" | "user") => {
        assert.equal(memberships.length, 1);
        assert.equal(memberships[0]!.object, "membership");
        assert.deepEqual(memberships[0]!.permissions, ["x"]);
        assert.equal(memberships[0]![embedded].object, embedded);
      };
      check((await call("users.get", { ...r, id: user.id, expands: "memberships" })).memberships, "org");
      // `expand` is v1's alias of `expands`; a schema has only `expands`.
      if (!api.typed) check((await call("users.get", { ...r, id: user.id, expand: ["memberships"] })).memberships, "org");
      const auth = await call("users.authenticate", { ...r, id: user.id, password: PASSWORD, expands: ["memberships"] });
      check(auth.memberships, "org");
      check((await call("orgs.get", { ...r, id: org.id, expands: "memberships" })).memberships, "user");
      check((await call("sessions.get", { ...r, id: auth.token, expands: "memberships,token" })).memberships, "org");
      // A typed surface cannot leave a list out: there an unexpanded list is empty.
      if (api.typed) assert.deepEqual((await call("users.get", { ...r, id: user.id })).memberships, [], "only when asked");
      else assert.equal((await call("users.get", { ...r, id: user.id })).memberships, undefined, "only when asked");
    });

    test("an expanded call runs the same number of statements for 1 or 12 memberships", async () => {
      const { call, newRealm, newUser, t } = kit();
      const realm = await newRealm();
      const r = { realm_id: realm.id };
      const few = await newUser(realm);
      const many = await newUser(realm);
      for (let i = 0; i < 12; i++) {
        const org = await call("orgs.create", { ...r, org: { name: `O${i}` } });
        await call("memberships.create", { ...r, membership: { user_id: many.id, org_id: org.id } });
        if (i === 0) await call("memberships.create", { ...r, membership: { user_id: few.id, org_id: org.id } });
      }
      const count = async (id: string) => {
        await call("users.get", { ...r, id, expands: "memberships" }); // warm the key cache
        // Any write empties the cache of reads, so the call below runs all its queries.
        await call("orgs.create", { ...r, org: { name: `after ${id}` } });
        const before = t.rampart.statementCount();
        const got = await call("users.get", { ...r, id, expands: "memberships" });
        const cold = t.rampart.statementCount() - before;
        const again = await call("users.get", { ...r, id, expands: "memberships" });
        assert.deepEqual(again, got, "a cached read answers the same");
        return { statements: cold, cached: t.rampart.statementCount() - before - cold, memberships: got.memberships.length };
      };
      const a = await count(few.id);
      const b = await count(many.id);
      assert.deepEqual([a.memberships, b.memberships], [1, 12]);
      assert.equal(b.statements, a.statements);
      assert.ok(a.statements >= 3, `user, credentials and memberships are queried when nothing is cached (${a.statements})`);
      assert.deepEqual([a.cached, b.cached], [0, 0], "with no write in between, the same read runs no query");
    });
  });

  describe("api users and credentials", () => {
    test("authenticate_key returns the api user, a token when api_key_minutes > 0, and writes nothing", async () => {
      const { call, newRealm, t } = kit();
      const realm = await newRealm({ api_key_minutes: 30 });
      const r = { realm_id: realm.id };
      const api = await call("users.create", { ...r, user: { user_type: "api" } });
      const first = await call("users.authenticateKey", { ...r, api_key: api.api_key, request: { ip: "192.0.2.5" } });
      assert.equal(first.id, api.id);
      assert.equal(typeof first.last_login_at, "number");
      const claims = decodeJwt(first.token);
      assert.equal(claims.uid, api.id);
      assert.equal((claims.exp as number) - (claims.iat as number), 30 * 60);
      const writes = t.rampart.writeCount();
      const second = await call("users.authenticateKey", { ...r, api_key: api.api_key, expands: "memberships" });
      assert.equal(t.rampart.writeCount(), writes, "the hot path writes nothing");
      assert.deepEqual(second.memberships, []);
      const noToken = await newRealm();
      const api2 = await call("users.create", { realm_id: noToken.id, user: { user_type: "api" } });
      assert.equal((await call("users.authenticateKey", { realm_id: noToken.id, api_key: api2.api_key })).token, null);
    });

    test("bad, revoked, inactive and other-realm keys fail identically", async () => {
      const { call, newRealm } = kit();
      const realm = await newRealm();
      const other = await newRealm();
      const r = { realm_id: realm.id };
      const api = await call("users.create", { ...r, user: { user_type: "api" } });
      const inactive = await call("users.create", { ...r, user: { user_type: "api", state: "inactive" } });
      const foreign = await call("users.create", { realm_id: other.id, user: { user_type: "api" } });
      const errors: ApiError[] = [];
      for (const key of [`${api.api_key}x`, inactive.api_key, foreign.api_key, "nonsense"]) {
        errors.push(await rejects(call("users.authenticateKey", { ...r, api_key: key }), "UNAUTHENTICATED", "user.authentication_failed"));
      }
      for (const e of errors) assert.deepEqual(e.errors, errors[0]!.errors);
    });

    test("credentials: get, generate a second key, regenerate, delete; password credential for humans", async () => {
      const { api: surface, call, newRealm, newUser } = kit();
      const realm = await newRealm({ api_key_prefix: "k_" });
      const r = { realm_id: realm.id };
      const api = await call("users.create", { ...r, user: { user_type: "api" } });
      const credId = api.credentials[0].id;
      const cred = await call("credentials.get", { ...r, id: credId });
      // The key is not shown: left out in v1 JSON, unset (null) on a typed surface.
      const notShown = surface.typed ? null : undefined;
      assert.deepEqual([cred.object, cred.credential_type, cred.user_id, cred.api_key], ["credential", "api_key", api.id, notShown]);
      const second = await call("credentials.create", { ...r, credential: { user_id: api.id, credential_type: "api_key", api_key: "generate" } });
      assert.match(second.api_key, /^k_[0-9A-Za-z]{40}$/);
      assert.equal((await call("users.authenticateKey", { ...r, api_key: second.api_key })).id, api.id);
      const rotated = await call("credentials.update", { ...r, id: credId, credential: { api_key: "" } });
      assert.notEqual(rotated.api_key, api.api_key);
      await rejects(call("users.authenticateKey", { ...r, api_key: api.api_key }), "UNAUTHENTICATED", "user.authentication_failed");
      assert.equal((await call("users.authenticateKey", { ...r, api_key: rotated.api_key })).id, api.id);
      await call("credentials.delete", { ...r, id: second.id });
      await rejects(call("users.authenticateKey", { ...r, api_key: second.api_key }), "UNAUTHENTICATED", "user.authentication_failed");
      await rejects(call("credentials.get", { ...r, id: second.id }), "NOT_FOUND", "credential.not_found");

      const human = await newUser(realm, { password: undefined });
      await call("credentials.create", { ...r, credential: { user_id: human.id, credential_type: "password", password: "a new password" } });
      assert.equal((await call("users.authenticate", { ...r, id: human.id, password: "a new password" })).id, human.id);
      await rejects(
        call("credentials.create", { ...r, credential: { user_id: human.id, credential_type: "api_key" } }),
        "INVALID_ARGUMENT",
        "validation_failed",
      );
      await rejects(
        call("credentials.create", { ...r, credential: { user_id: human.id, credential_type: "password", password: "short" } }),
        "INVALID_ARGUMENT",
        "validation_failed",
      );
    });
  });

  describe("sessions", () => {
    test("a managed session: get by token or id, fresh token with the original exp, list, delete", async () => {
      const { call, newRealm, newUser } = kit();
      const realm = await newRealm({ session_minutes: 90 });
      const r = { realm_id: realm.id };
      const user = await newUser(realm, { first_name: "Old" });
      const auth = await call("users.authenticate", { ...r, id: user.id, password: PASSWORD, request: { ip: "198.51.100.1", client: "ua" } });
      const claims = decodeJwt(auth.token);
      const byToken = await call("sessions.get", { ...r, id: auth.token });
      assert.equal(byToken.object, "session");
      assert.equal(byToken.id, claims.tk);
      assert.equal(byToken.user_id, user.id);
      assert.equal(byToken.user.object, "user");
      assert.equal(byToken.expires_at, claims.exp);
      assert.deepEqual(byToken.request, { ip: "198.51.100.1", client: "ua" });
      assert.equal(byToken.ip, "198.51.100.1");
      assert.equal(byToken.client, "ua");
      await call("users.update", { ...r, id: user.id, user: { first_name: "New" } });
      const fresh = await call("sessions.get", { ...r, id: byToken.id, expands: "token" });
      const freshClaims = (await jwtVerify(fresh.token, new TextEncoder().encode(realm.jwt_secret))).payload;
      assert.equal(freshClaims.fn, "New");
      assert.equal(freshClaims.exp, claims.exp);
      const list = await call("sessions.list", { ...r, user_id: user.id });
      assert.deepEqual(
        list.collection.map((s: Json) => s.id),
        [byToken.id],
      );
      await call("sessions.delete", { ...r, id: auth.token });
      await rejects(call("sessions.get", { ...r, id: auth.token }), "NOT_FOUND", "session.not_found");
      await rejects(call("sessions.get", { ...r, id: byToken.id }), "NOT_FOUND", "session.not_found");
    });

    test("create a session for a user; password change and deactivation end sessions", async () => {
      const { call, newRealm, newUser } = kit();
      const realm = await newRealm();
      const r = { realm_id: realm.id };
      const user = await newUser(realm);
      const created = await call("sessions.create", { ...r, session: { user_id: user.id }, request: { ip: "203.0.113.4" } });
      assert.match(created.id, /^kss_/);
      assert.equal(typeof created.token, "string");
      assert.equal(created.ip, "203.0.113.4");
      assert.equal((await call("sessions.get", { ...r, id: created.token })).id, created.id);
      await call("users.update", { ...r, id: user.id, user: { password: "another password" } });
      await rejects(call("sessions.get", { ...r, id: created.token }), "NOT_FOUND", "session.not_found");
      const again = await call("sessions.create", { ...r, session: { user_id: user.id } });
      await call("users.update", { ...r, id: user.id, user: { state: "inactive" } });
      await rejects(call("sessions.get", { ...r, id: again.id }), "NOT_FOUND", "session.not_found");
      await rejects(call("sessions.create", { ...r, session: { user_id: user.id } }), "INVALID_ARGUMENT", "validation_failed");
      await rejects(call("sessions.list", r), "INVALID_ARGUMENT", "validation_failed");
    });

    test("tampered, foreign, unsigned, other-algorithm and expired tokens find no session", async () => {
      const { call, newRealm, newUser } = kit();
      const realm = await newRealm();
      const r = { realm_id: realm.id };
      const user = await newUser(realm);
      const auth = await call("users.authenticate", { ...r, id: user.id, password: PASSWORD });
      const claims = decodeJwt(auth.token);
      const key = new TextEncoder().encode(realm.jwt_secret);
      const [h, p, s] = auth.token.split(".");
      const tampered = `${h}.${p!.slice(0, -2)}AA.${s}`;
      const none = new UnsecuredJWT(claims).encode();
      const hs512 = await new SignJWT(claims).setProtectedHeader({ alg: "HS512" }).sign(key);
      const expired = await new SignJWT({ ...claims, exp: Math.floor(Date.now() / 1000) - 3600 }).setProtectedHeader({ alg: "HS256" }).sign(key);
      const other = await newRealm();
      for (const token of [tampered, none, hs512, expired]) await rejects(call("sessions.get", { ...r, id: token }), "NOT_FOUND", "session.not_found");
      await rejects(call("sessions.get", { realm_id: other.id, id: auth.token }), "NOT_FOUND", "session.not_found");
      assert.equal((await call("sessions.get", { ...r, id: auth.token })).user_id, user.id);
    });

    test("unmanaged realms issue tokens without storing sessions", async () => {
      const { call, newRealm, newUser } = kit();
      const realm = await newRealm({ session_type: "unmanaged" });
      const r = { realm_id: realm.id };
      const user = await newUser(realm);
      const auth = await call("users.authenticate", { ...r, id: user.id, password: PASSWORD });
      const session = await call("sessions.get", { ...r, id: auth.token });
      assert.equal(session.user_id, user.id);
      assert.equal(session.id, decodeJwt(auth.token).tk);
      await rejects(call("sessions.get", { ...r, id: session.id }), "NOT_FOUND", "session.not_found");
      assert.deepEqual((await call("sessions.list", { ...r, user_id: user.id })).collection, []);
    });
  });

  describe("password and signup tokens", () => {
    test("a reset token works once, by user or by --, and ends sessions", async () => {
      const { call, newRealm, newUser } = kit();
      const realm = await newRealm();
      const r = { realm_id: realm.id };
      const user = await newUser(realm);
      const session = await call("sessions.create", { ...r, session: { user_id: user.id } });
      const generated = await call("users.generatePasswordToken", { ...r, id: user.username });
      assert.match(generated.password_reset_token, /^kpw_[0-9A-Za-z]{22}$/);
      assert.equal(generated.id, user.id);
      const reset = await call("users.resetPasswordWithToken", {
        ...r,
        id: "--",
        user: { token: generated.password_reset_token, password: "brand new pass", password_confirmation: "brand new pass" },
      });
      assert.equal(reset.id, user.id);
      await rejects(call("sessions.get", { ...r, id: session.token }), "NOT_FOUND", "session.not_found");
      assert.equal((await call("users.authenticate", { ...r, id: user.id, password: "brand new pass" })).id, user.id);
      const reused = await rejects(
        call("users.resetPasswordWithToken", { ...r, id: user.id, user: { token: generated.password_reset_token, password: "third password" } }),
        "INVALID_ARGUMENT",
        "user.password_token_invalid",
      );
      assert.deepEqual(reused.errors, { token: ["is invalid or expired"] });
      const types = (await call("events.list", { ...r, event_type: "user.password_token" })).collection.map((e: Json) => e.event_type);
      assert.deepEqual(types, ["user.password_token.failed", "user.password_token.consumed", "user.password_token.created"]);
    });

    test("10 concurrent uses of one reset token: exactly one succeeds", async () => {
      const { call, newRealm, newUser } = kit();
      const realm = await newRealm();
      const r = { realm_id: realm.id };
      const user = await newUser(realm);
      const { password_reset_token: token } = await call("users.generatePasswordToken", { ...r, id: user.id });
      const results = await Promise.allSettled(
        Array.from({ length: 10 }, (_, i) => call("users.resetPasswordWithToken", { ...r, id: "--", user: { token, password: `concurrent ${i} pw` } })),
      );
      assert.equal(results.filter((x) => x.status === "fulfilled").length, 1);
      for (const x of results) if (x.status === "rejected") assert.equal((x.reason as ApiError).code, "user.password_token_invalid");
    });

    test("update_password checks the current password", async () => {
      const { call, newRealm, newUser } = kit();
      const realm = await newRealm();
      const r = { realm_id: realm.id };
      const user = await newUser(realm);
      const err = await rejects(
        call("users.updatePassword", {
          ...r,
          id: user.id,
          user: { current_password: "not it at all", password: "next password", password_confirmation: "next password" },
        }),
        "INVALID_ARGUMENT",
        "user.current_password_mismatch",
      );
      assert.deepEqual(err.errors, { current_password: ["Current password does not match"] });
      await call("users.updatePassword", {
        ...r,
        id: user.id,
        user: { current_password: PASSWORD, password: "next password", password_confirmation: "next password" },
      });
      assert.equal((await call("users.authenticate", { ...r, id: user.id, password: "next password" })).id, user.id);
      await rejects(call("users.authenticate", { ...r, id: user.id, password: PASSWORD }), "UNAUTHENTICATED", "user.authentication_failed");
    });

    test("a signup token becomes a user once", async () => {
      const { call, newRealm } = kit();
      const realm = await newRealm();
      const r = { realm_id: realm.id };
      const token = await call("userTokens.create", {
        ...r,
        user_token: { username: "Signer", email: "signer@example.com", first_name: "Sig", password: "signup password" },
      });
      assert.match(token.id, /^utk_[0-9A-Za-z]{22}$/);
      assert.equal(token.object, "user_token");
      assert.equal(token.password, undefined);
      assert.equal((await call("userTokens.get", { ...r, id: token.id })).username, "signer");
      const user = await call("users.create", { ...r, user: { token: token.id } });
      assert.equal(user.username, "signer");
      assert.equal(user.first_name, "Sig");
      assert.equal((await call("users.authenticate", { ...r, id: "signer", password: "signup password" })).id, user.id);
      await rejects(call("users.create", { ...r, user: { token: token.id } }), "INVALID_ARGUMENT", "validation_failed");
      await rejects(call("userTokens.get", { ...r, id: token.id }), "NOT_FOUND", "user_token.not_found");
    });

    test("realm reset removes orgs, memberships, sessions and tokens", async () => {
      const { call, newRealm, newUser } = kit();
      const realm = await newRealm();
      const r = { realm_id: realm.id };
      const user = await newUser(realm);
      const org = await call("orgs.create", { ...r, org: { name: "Gone" } });
      await call("memberships.create", { ...r, membership: { user_id: user.id, org_id: org.id } });
      const auth = await call("users.authenticate", { ...r, id: user.id, password: PASSWORD });
      const signup = await call("userTokens.create", { ...r, user_token: { username: "later" } });
      await call("realms.reset", { id: realm.id });
      await rejects(call("orgs.get", { ...r, id: org.id }), "NOT_FOUND", "org.not_found");
      await rejects(call("sessions.get", { ...r, id: auth.token }), "NOT_FOUND", "session.not_found");
      await rejects(call("userTokens.get", { ...r, id: signup.id }), "NOT_FOUND", "user_token.not_found");
      assert.deepEqual((await call("orgs.list", r)).collection, []);
    });
  });
}
