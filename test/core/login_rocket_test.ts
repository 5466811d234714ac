/** LoginRocket operations called in-process: the rules every transport shares. */
import assert from "node:assert/strict";
import { after, test } from "node:test";
import { CoreError, type LoginRocketContext } from "@rampart/core";
import { decodeJwt } from "jose";
import { openTestRampart } from "../helpers/rampart.ts";

const t = await openTestRampart();
after(() => t.cleanup());
const admin = t.rampart.trustedContext();
const realm = (await t.rampart.realms.create(admin, { realm: { name: "LR" } })) as { id: string };
const r = { ...admin, realmId: realm.id };
const policy = (await t.rampart.loginPolicies.create(r, {
  login_policy: { name: "Web", subdomain: "lr-core", login_handler: "https://app.example.com/cb?x=1" },
})) as { id: string };
await t.rampart.users.create(r, { user: { username: "lena", password: "lena's password" } });

const browser = (ip = "198.51.100.23"): LoginRocketContext => ({
  requestId: "rq_0000000000000000000000",
  credentials: {},
  connection: { ip, client: "Mozilla/5.0" },
});
const fails = (code: string) => (e: unknown) => e instanceof CoreError && e.code === code;

test("login returns the token and the handler URL, and records the connection on the event", async () => {
  const { token, url } = await t.rampart.loginRocket.login(browser(), { subdomain: "LR-Core", username: "lena", password: "lena's password" });
  assert.equal(url, `https://app.example.com/cb?x=1&token=${encodeURIComponent(token)}`);
  const event = ((await t.rampart.events.list(admin, { realm_id: realm.id, event_type: "user.login.succeeded" })) as { collection: Record<string, unknown>[] })
    .collection[0]!;
  assert.deepEqual(event.request, { ip: "198.51.100.23", client: "Mozilla/5.0" });
  assert.equal(event.login_policy_id, policy.id);
});

test("a browser's own request hash is ignored; a write key's is honoured", async () => {
  await t.rampart.loginRocket.login(browser("192.0.2.1"), {
    subdomain: "lr-core",
    username: "lena",
    password: "lena's password",
    request: { ip: "203.0.113.99" },
  });
  const ips = () => (t.sqlite().prepare("SELECT ip FROM events WHERE event_type = 'user.login.succeeded' ORDER BY id DESC LIMIT 1").get() as { ip: string }).ip;
  assert.equal(ips(), "192.0.2.1");
  await t.rampart.loginRocket.login(
    { ...browser("192.0.2.1"), credentials: { apiKey: t.adminKey } },
    { subdomain: "lr-core", username: "lena", password: "lena's password", request: { ip: "203.0.113.99" } },
  );
  assert.equal(ips(), "203.0.113.99");
});

test("signup follows the login_rocket provider, and the name rules", async () => {
  await assert.rejects(
    t.rampart.loginRocket.signup(browser(), { subdomain: "lr-core", username: "newbie", password: "newbie password" }),
    fails("login_rocket.signup_disabled"),
  );
  await t.rampart.authProviders.create(r, { auth_provider: { provider_type: "login_rocket", signup: true, name_field: "required" } });
  await assert.rejects(
    t.rampart.loginRocket.signup(browser(), { subdomain: "lr-core", username: "newbie", password: "newbie password" }),
    (e: unknown) => e instanceof CoreError && Array.isArray(e.errors.first_name),
  );
  const { token } = await t.rampart.loginRocket.signup(browser(), {
    subdomain: "lr-core",
    username: "newbie",
    password: "newbie password",
    first_name: "New",
    last_name: "Bie",
  });
  assert.equal(decodeJwt(token).un, "newbie");
  await assert.rejects(
    t.rampart.loginRocket.signup(browser(), { subdomain: "lr-core", username: "NEWBIE", password: "newbie password", first_name: "A", last_name: "B" }),
    fails("user.username_taken"),
  );
});

test("logout ends the session with its token, and refuses a bare session id", async () => {
  const { token } = await t.rampart.loginRocket.login(browser(), { subdomain: "lr-core", username: "lena", password: "lena's password" });
  const sessionId = decodeJwt(token).tk as string;
  await assert.rejects(
    t.rampart.loginRocket.logout(browser(), { subdomain: "lr-core", token: sessionId }),
    (e: unknown) => e instanceof CoreError && Array.isArray(e.errors.token),
  );
  assert.equal(((await t.rampart.sessions.get(r, { id: token })) as { id: string }).id, sessionId, "the session survived");
  assert.deepEqual(await t.rampart.loginRocket.logout(browser(), { subdomain: "lr-core", token }), {});
  await assert.rejects(t.rampart.sessions.get(r, { id: token }), fails("session.not_found"));
  assert.deepEqual(await t.rampart.loginRocket.logout(browser(), { subdomain: "lr-core", token }), {}, "logging out twice is fine");
});

test("an unknown app, a disabled login and wrong passwords fail cleanly", async () => {
  await assert.rejects(t.rampart.loginRocket.login(browser(), { subdomain: "nope", username: "lena", password: "x" }), fails("login_policy.not_found"));
  await assert.rejects(
    t.rampart.loginRocket.login(browser(), { subdomain: "lr-core", username: "lena", password: "wrong password" }),
    fails("user.authentication_failed"),
  );
  await assert.rejects(
    t.rampart.loginRocket.login(browser(), { subdomain: "lr-core", email: "nobody@example.com", password: "wrong password" }),
    fails("user.authentication_failed"),
  );
  const providers = (await t.rampart.authProviders.list(r, {})) as unknown as { collection: { id: string; provider_type: string }[] };
  const lr = providers.collection.find((p) => p.provider_type === "login_rocket")!;
  await t.rampart.authProviders.update(r, { id: lr.id, auth_provider: { login: false } });
  await assert.rejects(
    t.rampart.loginRocket.login(browser(), { subdomain: "lr-core", username: "lena", password: "lena's password" }),
    fails("login_rocket.login_disabled"),
  );
});
