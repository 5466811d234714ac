/**
 * Contract cases for login policies (connected apps) and auth providers. Registered inside
 * contractCases(); the end-user LoginRocket API has its own, surface-specific tests.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { type Json, type Kit, rejects } from "./cases.ts";

export function appCases(kit: () => Kit): void {
  describe("login policies", () => {
    test("create (subdomain generated when blank), get, update, list and delete, with events", async () => {
      const { call, newRealm } = kit();
      const realm = await newRealm();
      const r = { realm_id: realm.id };
      const policy = await call("loginPolicies.create", {
        ...r,
        login_policy: { name: "Web", login_handler: "https://app.example.com/login?x=1", cors_origins: ["https://app.example.com", "http://localhost:3000/"] },
      });
      assert.match(policy.id, /^lpl_[0-9A-Za-z]{22}$/);
      assert.equal(policy.object, "login_policy");
      assert.match(policy.subdomain, /^app-[0-9a-z]{10}$/);
      assert.deepEqual(policy.cors_origins, ["https://app.example.com", "http://localhost:3000"]);
      assert.ok(Array.isArray(policy.domains));
      const named = await call("loginPolicies.create", {
        ...r,
        login_policy: { name: "Named", subdomain: `Shop${Date.now()}`, login_handler: "HTTPS://App.Example.COM" },
      });
      assert.equal(named.login_handler, "https://app.example.com/", "URLs are stored in canonical form");
      assert.equal(named.subdomain, named.subdomain.toLowerCase());
      const taken = await rejects(
        call("loginPolicies.create", { ...r, login_policy: { name: "Dup", subdomain: named.subdomain } }),
        "INVALID_ARGUMENT",
        "login_policy.subdomain_taken",
      );
      assert.deepEqual(taken.errors, { subdomain: ["has already been taken"] });
      const updated = await call("loginPolicies.update", {
        ...r,
        id: policy.id,
        login_policy: { signup_handler: "https://app.example.com/welcome", footer: "<p>Hi</p>" },
      });
      assert.equal(updated.signup_handler, "https://app.example.com/welcome");
      assert.equal(updated.footer, "<p>Hi</p>");
      assert.equal((await call("loginPolicies.get", { ...r, id: policy.id })).name, "Web");
      assert.equal((await call("loginPolicies.list", r)).collection.length, 2);
      await call("loginPolicies.delete", { ...r, id: named.id });
      await rejects(call("loginPolicies.get", { ...r, id: named.id }), "NOT_FOUND", "login_policy.not_found");
      const types = (await call("events.list", { ...r, event_type: "login_policy" })).collection.map((e: Json) => e.event_type);
      assert.deepEqual(types, ["login_policy.deleted", "login_policy.updated", "login_policy.created", "login_policy.created"]);
    });

    test("bad policies are refused, naming the field", async () => {
      const { call, newRealm } = kit();
      const realm = await newRealm();
      const cases: [Json, string][] = [
        [{ name: "x", login_handler: "javascript:alert(1)" }, "login_handler"],
        [{ name: "x", login_handler: "/relative" }, "login_handler"],
        [{ name: "x", signup_handler: "https://user:pw@example.com/" }, "signup_handler"],
        [{ name: "x", cors_origins: ["*"] }, "cors_origins"],
        [{ name: "x", cors_origins: ["https://example.com/path"] }, "cors_origins"],
        [{ name: "x", subdomain: "-bad-" }, "subdomain"],
        [{ name: "" }, "name"],
        [{ name: "x", external_css: "ftp://example.com/a.css" }, "external_css"],
        [{ name: "x", login_handler: "https://a.example/x\r\nSet-Cookie: a=b" }, "login_handler"],
        [{ name: "x", signup_handler: "https://a.example/with space" }, "signup_handler"],
      ];
      for (const [login_policy, field] of cases) {
        const err = await rejects(call("loginPolicies.create", { realm_id: realm.id, login_policy }), "INVALID_ARGUMENT", "validation_failed");
        assert.ok(err.errors[field], `${field}: ${err.message}`);
      }
    });

    test("policies and providers need the admin_realm permission", async () => {
      const { call, newRealm, t } = kit();
      const realm = await newRealm();
      const key = (await t.rampart.keys.create({ permissions: ["read", "write"] })).key as string;
      await rejects(
        call("loginPolicies.create", { realm_id: realm.id, login_policy: { name: "x" } }, { apiKey: key }),
        "PERMISSION_DENIED",
        "api_key.forbidden",
      );
      await rejects(call("authProviders.list", { realm_id: realm.id }, { apiKey: key }), "PERMISSION_DENIED", "api_key.forbidden");
    });
  });

  describe("auth providers", () => {
    test("one per type per realm; settings default and update; events", async () => {
      const { call, newRealm } = kit();
      const realm = await newRealm();
      const r = { realm_id: realm.id };
      const lr = await call("authProviders.create", { ...r, auth_provider: { provider_type: "login_rocket", signup: true } });
      assert.match(lr.id, /^ap_[0-9A-Za-z]{22}$/);
      assert.equal(lr.object, "auth_provider");
      assert.deepEqual([lr.login, lr.signup, lr.name_field], [true, true, "none"]);
      await rejects(call("authProviders.create", { ...r, auth_provider: { provider_type: "login_rocket" } }), "INVALID_ARGUMENT", "auth_provider.taken");
      const pw = await call("authProviders.create", { ...r, auth_provider: { provider_type: "password", min_length: 12, required_chars: "digit,upper" } });
      assert.deepEqual([pw.min_length, pw.min_complexity, pw.required_chars], [12, 0, ["digit", "upper"]]);
      const changed = await call("authProviders.update", { ...r, id: lr.id, auth_provider: { name_field: "required" } });
      assert.deepEqual([changed.signup, changed.name_field], [true, "required"]);
      await rejects(call("authProviders.update", { ...r, id: pw.id, auth_provider: { signup: true } }), "INVALID_ARGUMENT", "validation_failed");
      await rejects(
        call("authProviders.create", { realm_id: (await newRealm()).id, auth_provider: { provider_type: "password", min_length: 6 } }),
        "INVALID_ARGUMENT",
        "validation_failed",
      );
      await rejects(call("authProviders.create", { ...r, auth_provider: { provider_type: "smoke_signals" } }), "INVALID_ARGUMENT", "validation_failed");
      assert.equal((await call("authProviders.list", r)).collection.length, 2);
      const types = (await call("events.list", { ...r, event_type: "auth_provider" })).collection.map((e: Json) => e.event_type);
      assert.deepEqual(types, ["auth_provider.updated", "auth_provider.created", "auth_provider.created"]);
    });

    test("the password provider's rules apply to every way a password is set", async () => {
      const { call, newRealm, newUser } = kit();
      const realm = await newRealm();
      const r = { realm_id: realm.id };
      await call("authProviders.create", { ...r, auth_provider: { provider_type: "password", min_length: 12, min_complexity: 3, required_chars: ["digit"] } });
      const weak = "alllowercaseletters";
      const strong = "Strong-Passw0rd!";
      await rejects(call("users.create", { ...r, user: { username: "weak", password: weak } }), "INVALID_ARGUMENT", "validation_failed");
      await rejects(call("users.create", { ...r, user: { username: "short", password: "Sh0rt!" } }), "INVALID_ARGUMENT", "validation_failed");
      const user = await newUser(realm, { password: strong });
      await rejects(call("users.update", { ...r, id: user.id, user: { password: weak } }), "INVALID_ARGUMENT", "validation_failed");
      await rejects(
        call("users.updatePassword", { ...r, id: user.id, user: { current_password: strong, password: weak } }),
        "INVALID_ARGUMENT",
        "validation_failed",
      );
      const { password_reset_token: token } = await call("users.generatePasswordToken", { ...r, id: user.id });
      await rejects(call("users.resetPasswordWithToken", { ...r, id: "--", user: { token, password: weak } }), "INVALID_ARGUMENT", "validation_failed");
      await rejects(call("userTokens.create", { ...r, user_token: { username: "later", password: weak } }), "INVALID_ARGUMENT", "validation_failed");
      const human = await newUser(realm, { password: undefined });
      await rejects(
        call("credentials.create", { ...r, credential: { user_id: human.id, credential_type: "password", password: weak } }),
        "INVALID_ARGUMENT",
        "validation_failed",
      );
      // The token survived the refused reset: a good password still works with it.
      assert.equal((await call("users.resetPasswordWithToken", { ...r, id: "--", user: { token, password: "Another-Passw0rd" } })).id, user.id);
    });
  });
}
