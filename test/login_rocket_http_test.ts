/**
 * LoginRocket over HTTP: the end-user API (JSON, form, JSONP, CORS), the connection's request
 * info, throttling, the hosted pages (security headers, CSRF, redirects, escaping), host-based
 * routing and secret-free logs. A real SQLite file, real sockets, node:http requests; realms,
 * policies and users are set up through core in-process with the admin key.
 */
import assert from "node:assert/strict";
import { request as httpRequest, type IncomingHttpHeaders } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, it } from "node:test";
import type { FastifyInstance } from "fastify";
import { jwtVerify } from "jose";
import { CoreError, handlerUrl, type CallContext } from "@rampart/core";
import { answerForwarded, buildHttpApp } from "@rampart/http-bridge";
import { openTestRampart, type TestRampart } from "./helpers/rampart.ts";

const REQUEST_ID = /^rq_[0-9A-Za-z]{22}$/;
const UA = "LoginRocketTest/1.0 (node:http)";

interface Res {
  status: number;
  headers: IncomingHttpHeaders;
  text: string;
  json: any;
}

interface Req {
  method?: string;
  headers?: Record<string, string>;
  body?: string;
}

/** One request over a real socket, with exactly these headers (plus a User-Agent). */
function send(port: number, path: string, req: Req = {}): Promise<Res> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string | number> = { "user-agent": UA, ...req.headers };
    if (req.body !== undefined) headers["content-length"] = Buffer.byteLength(req.body);
    const r = httpRequest({ host: "127.0.0.1", port, path, method: req.method ?? "GET", headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => {
        const text = Buffer.concat(chunks).toString("utf8");
        let json: unknown;
        try {
          json = text === "" ? undefined : JSON.parse(text);
        } catch {
          json = undefined;
        }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json });
      });
    });
    r.on("error", reject);
    if (req.body !== undefined) r.write(req.body);
    r.end();
  });
}

const JSON_TYPE = { "content-type": "application/json" };
const FORM_TYPE = { "content-type": "application/x-www-form-urlencoded" };

function postJson(port: number, path: string, body: unknown, headers: Record<string, string> = {}): Promise<Res> {
  return send(port, path, { method: "POST", headers: { ...JSON_TYPE, ...headers }, body: JSON.stringify(body) });
}

function postForm(port: number, path: string, fields: Record<string, string>, headers: Record<string, string> = {}): Promise<Res> {
  return send(port, path, { method: "POST", headers: { ...FORM_TYPE, ...headers }, body: new URLSearchParams(fields).toString() });
}

/** The JSON inside a JSONP body `/**\/<cb>(<json>);`, checking its frame. */
function unwrapJsonp(res: Res, callback: string): any {
  assert.equal(res.status, 200, res.text);
  assert.equal(res.headers["content-type"], "application/javascript; charset=utf-8");
  assert.equal(res.headers["x-content-type-options"], "nosniff");
  const prefix = `/**/${callback}(`;
  assert.ok(res.text.startsWith(prefix), res.text);
  assert.ok(res.text.endsWith(");"), res.text);
  return JSON.parse(res.text.slice(prefix.length, -2));
}

/** A hosted form's CSRF cookie (as a Cookie header) and hidden field. */
interface FormSession {
  cookie: string;
  token: string;
  html: string;
}

function csrfOf(page: Res): FormSession {
  const setCookie = page.headers["set-cookie"]?.[0];
  assert.ok(setCookie, "the page sets its CSRF cookie");
  const token = /name="csrf_token" value="([^"]+)"/.exec(page.text)?.[1];
  assert.ok(token, "the form has a csrf_token field");
  return { cookie: setCookie.split(";")[0]!, token, html: page.text };
}

// Distinctive secrets, so that the log check below can look for them.
const ALICE_PASSWORD = "alice-Secret-pw-7781";
const BOB_PASSWORD = "bob-Secret-pw-5521";
const SIGNUP_PASSWORD = "newbie-Secret-pw-3319";

describe("LoginRocket over HTTP", () => {
  let t: TestRampart;
  let app: FastifyInstance;
  let proxied: FastifyInstance;
  let port: number;
  let proxiedPort: number;
  let admin: CallContext;
  let realm: any;
  let closedRealm: any;
  let shop: any;
  const logLines: string[] = [];
  const issuedTokens: string[] = [];

  const SHOP_LOGIN = "https://shop.example/auth/callback?from=lr";
  const SHOP_SIGNUP = "https://shop.example/welcome";
  const SHOP_ORIGIN = "https://shop.example";
  const DEV_ORIGIN = "http://localhost:3000";

  before(async () => {
    t = await openTestRampart({ throttle: { perUser: 3, perIp: 1000 }, loginRocketDomain: "login.test" });
    admin = { requestId: "rq_0000000000000000000000", credentials: { apiKey: t.adminKey } };
    realm = await t.rampart.realms.create(admin, { realm: { name: "Shop realm" } });
    const r = { ...admin, realmId: realm.id };
    shop = await t.rampart.loginPolicies.create(r, {
      login_policy: {
        name: "Shop",
        subdomain: "shop",
        login_handler: SHOP_LOGIN,
        signup_handler: SHOP_SIGNUP,
        cors_origins: [SHOP_ORIGIN, DEV_ORIGIN],
        header: '<p class="brand">The <b>Shop</b> header</p>',
        footer: "<small>Shop footer text</small>",
        external_css: "https://cdn.shop.example/lr/theme.css",
      },
    });
    await t.rampart.loginPolicies.create(r, { login_policy: { name: "Bare", subdomain: "bare" } });
    await t.rampart.authProviders.create(r, { auth_provider: { provider_type: "login_rocket", signup: true, name_field: "required" } });
    for (const [username, password] of [
      ["alice", ALICE_PASSWORD],
      ["bob", BOB_PASSWORD],
      ["carol", ALICE_PASSWORD],
      ["dave", ALICE_PASSWORD],
    ]) {
      await t.rampart.users.create(r, { user: { username, email: `${username}@example.com`, password, password_confirmation: password } });
    }
    closedRealm = await t.rampart.realms.create(admin, { realm: { name: "Closed realm" } });
    await t.rampart.loginPolicies.create(
      { ...admin, realmId: closedRealm.id },
      { login_policy: { name: "Closed", subdomain: "closed", login_handler: "https://closed.example/cb" } },
    );

    const stream = { write: (line: string) => void logLines.push(line) };
    app = buildHttpApp(t.rampart, { logger: { level: "info", stream } });
    await app.listen({ host: "127.0.0.1", port: 0 });
    port = (app.server.address() as AddressInfo).port;
    proxied = buildHttpApp(t.rampart, { logger: { level: "info", stream }, trustedProxies: ["127.0.0.0/8", "::1"], loginRocketDomain: "login.test" });
    await proxied.listen({ host: "127.0.0.1", port: 0 });
    proxiedPort = (proxied.server.address() as AddressInfo).port;
  });

  after(async () => {
    await app.close();
    await proxied.close();
    await t.cleanup();
  });

  /** Verifies a login token with the realm's secret and returns its claims. */
  async function verified(token: string, of: any = realm): Promise<any> {
    issuedTokens.push(token);
    const { payload } = await jwtVerify(token, new TextEncoder().encode(of.jwt_secret), { algorithms: ["HS256"] });
    return payload;
  }

  /** The events a request wrote (by its X-Request-ID). */
  async function eventsOf(res: Res): Promise<any[]> {
    const requestId = res.headers["x-request-id"];
    const list = await t.rampart.events.list({ ...admin, realmId: realm.id }, { max_results: 1000 });
    return list.collection.filter((e: any) => e.request_id === requestId);
  }

  describe("API: login, signup, logout", () => {
    it("POST JSON login answers {token, url} with url = login handler + token", async () => {
      const res = await postJson(port, "/lr/shop/v1/login", { username: "alice", password: ALICE_PASSWORD });
      assert.equal(res.status, 200, res.text);
      assert.equal(res.headers["content-type"], "application/json; charset=utf-8");
      assert.equal(res.headers["cache-control"], "no-store");
      assert.match(String(res.headers["x-request-id"]), REQUEST_ID);
      assert.deepEqual(Object.keys(res.json).sort(), ["token", "url"]);
      const claims = await verified(res.json.token);
      assert.equal(claims.un, "alice");
      assert.equal(claims.aud, realm.id);
      assert.equal(res.json.url, `${SHOP_LOGIN}&token=${encodeURIComponent(res.json.token)}`);
    });

    it("POST form login works the same, and email may replace username", async () => {
      const res = await postForm(port, "/lr/shop/v1/login", { email: "alice@example.com", password: ALICE_PASSWORD });
      assert.equal(res.status, 200, res.text);
      assert.equal((await verified(res.json.token)).un, "alice");
      assert.equal(res.json.url, handlerUrl(SHOP_LOGIN, res.json.token));
    });

    it("a wrong password is HTTP 200 with {error}", async () => {
      const res = await postJson(port, "/lr/shop/v1/login", { username: "carol", password: "not-her-password-1" });
      assert.equal(res.status, 200);
      assert.deepEqual(Object.keys(res.json), ["error"]);
      assert.match(res.json.error, /Login failed/);
      const missing = await postJson(port, "/lr/shop/v1/login", { username: "carol" });
      assert.equal(missing.status, 200);
      assert.equal(missing.json.error, "Password can't be blank");
    });

    it("an unknown app is 404 {error}, an unknown method the usual 404", async () => {
      const res = await postJson(port, "/lr/nosuchapp/v1/login", { username: "alice", password: ALICE_PASSWORD });
      assert.equal(res.status, 404);
      assert.equal(res.json.error, "No app is served here");
      assert.match(String(res.headers["x-request-id"]), REQUEST_ID);
      const method = await postJson(port, "/lr/shop/v1/steal", {});
      assert.equal(method.status, 404);
    });

    it("a malformed body is a 400 {error}; other media types 415", async () => {
      const bad = await send(port, "/lr/shop/v1/login", { method: "POST", headers: JSON_TYPE, body: '{"username":' });
      assert.equal(bad.status, 400);
      assert.match(bad.json.error, /not valid JSON/);
      const proto = await send(port, "/lr/shop/v1/login", { method: "POST", headers: FORM_TYPE, body: "__proto__[x]=1" });
      assert.equal(proto.status, 400);
      assert.ok(typeof proto.json.error === "string");
      const text = await send(port, "/lr/shop/v1/login", { method: "POST", headers: { "content-type": "text/plain" }, body: "x" });
      assert.equal(text.status, 415);
      assert.ok(typeof text.json.error === "string");
    });

    it("signup creates the user, logs them in, and points at the signup handler", async () => {
      const res = await postJson(port, "/lr/shop/v1/signup", {
        username: "newbie",
        email: "newbie@example.com",
        password: SIGNUP_PASSWORD,
        password_confirmation: SIGNUP_PASSWORD,
        first_name: "New",
        last_name: "Bee",
      });
      assert.equal(res.status, 200, res.text);
      const claims = await verified(res.json.token);
      assert.equal(claims.un, "newbie");
      assert.equal(claims.fn, "New");
      assert.equal(res.json.url, handlerUrl(SHOP_SIGNUP, res.json.token));
      const taken = await postJson(port, "/lr/shop/v1/signup", {
        username: "newbie",
        password: SIGNUP_PASSWORD,
        password_confirmation: SIGNUP_PASSWORD,
        first_name: "A",
        last_name: "B",
      });
      assert.equal(taken.status, 200);
      assert.equal(taken.json.error, "Username has already been taken");
    });

    it("signup follows the provider: names required here, refused where signup is off", async () => {
      const noNames = await postJson(port, "/lr/shop/v1/signup", { username: "nameless", password: SIGNUP_PASSWORD, password_confirmation: SIGNUP_PASSWORD });
      assert.equal(noNames.status, 200);
      assert.match(noNames.json.error, /First name can't be blank/);
      const closed = await postJson(port, "/lr/closed/v1/signup", { username: "someone", password: SIGNUP_PASSWORD, password_confirmation: SIGNUP_PASSWORD });
      assert.equal(closed.status, 200);
      assert.equal(closed.json.error, "Signup is not enabled for this app");
    });

    it("logout ends the managed session", async () => {
      const login = await postJson(port, "/lr/shop/v1/login", { username: "alice", password: ALICE_PASSWORD });
      const token = login.json.token as string;
      issuedTokens.push(token);
      const r = { ...admin, realmId: realm.id };
      const session = await t.rampart.sessions.get(r, { id: token });
      assert.match(String(session.id), /^kss_/);
      const res = await postJson(port, "/lr/shop/v1/logout", { token });
      assert.equal(res.status, 200);
      assert.deepEqual(res.json, {});
      await assert.rejects(t.rampart.sessions.get(r, { id: token }), (err: unknown) => err instanceof CoreError && err.kind === "NOT_FOUND");
      // Logging out again is not an error.
      assert.deepEqual((await postJson(port, "/lr/shop/v1/logout", { token })).json, {});
      assert.equal((await postJson(port, "/lr/shop/v1/logout", {})).json.error, "Token can't be blank");
    });
  });

  describe("API: JSONP", () => {
    it("GET with callback answers /**/cb(json); as JavaScript with nosniff", async () => {
      const q = new URLSearchParams({ callback: "App.onLogin", username: "alice", password: ALICE_PASSWORD, _: "1437000000000" });
      const res = await send(port, `/lr/shop/v1/login?${q}`);
      const body = unwrapJsonp(res, "App.onLogin");
      assert.equal(res.headers["cache-control"], "no-store");
      assert.equal((await verified(body.token)).un, "alice");
      assert.equal(body.url, handlerUrl(SHOP_LOGIN, body.token));
    });

    it("failures and unknown apps are still a callback call with status 200", async () => {
      const wrong = await send(port, `/lr/shop/v1/login?${new URLSearchParams({ callback: "cb", username: "dave", password: "nope-nope-nope" })}`);
      assert.match(unwrapJsonp(wrong, "cb").error, /Login failed/);
      const noApp = await send(port, "/lr/nosuchapp/v1/login?callback=cb&username=x&password=y");
      assert.equal(unwrapJsonp(noApp, "cb").error, "No app is served here");
    });

    it("logout works over JSONP", async () => {
      const login = await postJson(port, "/lr/shop/v1/login", { username: "alice", password: ALICE_PASSWORD });
      issuedTokens.push(login.json.token);
      const res = await send(port, `/lr/shop/v1/logout?${new URLSearchParams({ callback: "done", token: login.json.token })}`);
      assert.deepEqual(unwrapJsonp(res, "done"), {});
      await assert.rejects(t.rampart.sessions.get({ ...admin, realmId: realm.id }, { id: login.json.token }));
    });

    it("accepts identifier paths up to 128 characters", async () => {
      for (const cb of ["$", "_jqjsp", "jQuery1123_456", "a.b.c", "$.x_1", "a".repeat(128)]) {
        unwrapJsonp(await send(port, `/lr/shop/v1/logout?callback=${cb}`), cb);
      }
    });

    it("refuses any other callback with 400 before doing anything", async () => {
      const bad = ["alert(1)", "a b", "x[0]", "a..b", ".a", "a.", "1abc", "", "a;b", "a-b", "<script>", "a".repeat(129), "ä"];
      for (const cb of bad) {
        const res = await send(port, `/lr/shop/v1/login?callback=${encodeURIComponent(cb)}&username=alice&password=x`);
        assert.equal(res.status, 400, cb);
        assert.equal(res.headers["content-type"], "application/json; charset=utf-8", cb);
        assert.match(res.json.error, /callback/, cb);
        assert.match(String(res.headers["x-request-id"]), REQUEST_ID);
      }
      const twice = await send(port, "/lr/shop/v1/login?callback=a&callback=b");
      assert.equal(twice.status, 400);
      const none = await send(port, `/lr/shop/v1/login?${new URLSearchParams({ username: "alice", password: ALICE_PASSWORD })}`);
      assert.equal(none.status, 400);
      assert.match(none.json.error, /callback/);
    });
  });

  describe("API: CORS", () => {
    it("echoes a listed Origin with Vary: Origin, never * and never credentials", async () => {
      for (const origin of [SHOP_ORIGIN, DEV_ORIGIN]) {
        const res = await postJson(port, "/lr/shop/v1/login", { username: "alice", password: ALICE_PASSWORD }, { origin });
        assert.equal(res.status, 200);
        issuedTokens.push(res.json.token);
        assert.equal(res.headers["access-control-allow-origin"], origin);
        assert.match(String(res.headers.vary), /\bOrigin\b/);
        assert.equal(res.headers["access-control-allow-credentials"], undefined);
        assert.match(String(res.headers["access-control-expose-headers"]), /X-Request-ID/);
      }
      // Failures reach the page too, so it can show them.
      const wrong = await postJson(port, "/lr/shop/v1/login", { username: "dave", password: "wrong-wrong-1" }, { origin: SHOP_ORIGIN });
      assert.equal(wrong.headers["access-control-allow-origin"], SHOP_ORIGIN);
      assert.ok(wrong.json.error);
    });

    it("refuses an unlisted Origin without an allow header and without logging anyone in", async () => {
      for (const origin of ["https://evil.example", "https://shop.example.evil.example", "http://shop.example", "null", "https://SHOP.example"]) {
        const res = await postJson(port, "/lr/shop/v1/login", { username: "alice", password: ALICE_PASSWORD }, { origin });
        assert.equal(res.status, 403, origin);
        assert.equal(res.headers["access-control-allow-origin"], undefined, origin);
        assert.match(String(res.headers.vary), /\bOrigin\b/);
        assert.match(res.json.error, /origin/i);
        assert.deepEqual(await eventsOf(res), [], "nothing happened");
      }
    });

    it("answers without CORS headers when there is no Origin (servers, curl)", async () => {
      const res = await postJson(port, "/lr/shop/v1/login", { username: "alice", password: ALICE_PASSWORD });
      issuedTokens.push(res.json.token);
      assert.equal(res.headers["access-control-allow-origin"], undefined);
      assert.match(String(res.headers.vary), /\bOrigin\b/);
    });

    it("answers pre-flights for listed origins only", async () => {
      const ok = await send(port, "/lr/shop/v1/login", {
        method: "OPTIONS",
        headers: { origin: SHOP_ORIGIN, "access-control-request-method": "POST", "access-control-request-headers": "content-type" },
      });
      assert.equal(ok.status, 204);
      assert.equal(ok.text, "");
      assert.equal(ok.headers["access-control-allow-origin"], SHOP_ORIGIN);
      assert.match(String(ok.headers["access-control-allow-methods"]), /\bPOST\b/);
      assert.match(String(ok.headers["access-control-allow-headers"]), /Content-Type/i);
      assert.equal(ok.headers["access-control-max-age"], "600");
      assert.match(String(ok.headers.vary), /\bOrigin\b/);
      assert.match(String(ok.headers["x-request-id"]), REQUEST_ID);

      const refused = await send(port, "/lr/shop/v1/signup", {
        method: "OPTIONS",
        headers: { origin: "https://evil.example", "access-control-request-method": "POST" },
      });
      assert.equal(refused.status, 403);
      assert.equal(refused.headers["access-control-allow-origin"], undefined);
      assert.equal(refused.headers["access-control-allow-methods"], undefined);

      const method = await send(port, "/lr/shop/v1/login", { method: "OPTIONS", headers: { origin: SHOP_ORIGIN, "access-control-request-method": "DELETE" } });
      assert.equal(method.status, 403);
      assert.equal(method.headers["access-control-allow-methods"], undefined);

      const unknown = await send(port, "/lr/nosuchapp/v1/login", {
        method: "OPTIONS",
        headers: { origin: SHOP_ORIGIN, "access-control-request-method": "POST" },
      });
      assert.equal(unknown.status, 404);
    });
  });

  describe("API: request info from the connection", () => {
    it("records the socket's IP and the User-Agent; a browser-sent request param is ignored", async () => {
      const res = await postJson(
        port,
        "/lr/shop/v1/login",
        { username: "alice", password: ALICE_PASSWORD, request: { ip: "198.51.100.99", client: "forged" } },
        { "x-forwarded-for": "203.0.113.7" },
      );
      assert.equal(res.status, 200, res.text);
      issuedTokens.push(res.json.token);
      const [event] = await eventsOf(res);
      assert.equal(event.event_type, "user.login.succeeded");
      assert.deepEqual(event.request, { ip: "127.0.0.1", client: UA });
      assert.equal(event.login_policy_id, shop.id);
    });

    it("honours X-Forwarded-For from a trusted proxy", async () => {
      const res = await postJson(
        proxiedPort,
        "/lr/shop/v1/login",
        { username: "alice", password: ALICE_PASSWORD },
        { "x-forwarded-for": "1.1.1.1, 203.0.113.7" },
      );
      assert.equal(res.status, 200, res.text);
      issuedTokens.push(res.json.token);
      const [event] = await eventsOf(res);
      assert.equal(event.request.ip, "203.0.113.7");
      assert.equal(event.request.client, UA);
      const signup = await postJson(
        proxiedPort,
        "/lr/shop/v1/signup",
        { username: "proxied", password: SIGNUP_PASSWORD, password_confirmation: SIGNUP_PASSWORD, first_name: "P", last_name: "X" },
        { "x-forwarded-for": "2001:db8::42" },
      );
      issuedTokens.push(signup.json.token);
      const events = await eventsOf(signup);
      assert.deepEqual(
        events.map((e) => [e.event_type, e.request.ip]),
        [
          ["user.login.succeeded", "2001:db8::42"],
          ["user.created", "2001:db8::42"],
        ],
      );
    });

    it("throttles failed logins: after N failures even the right password gets {error} with a retry time", async () => {
      for (let i = 0; i < 3; i++) {
        const res = await postJson(port, "/lr/shop/v1/login", { username: "bob", password: `wrong-password-${i}` });
        assert.match(res.json.error, /Login failed/);
      }
      const throttled = await postJson(port, "/lr/shop/v1/login", { username: "bob", password: BOB_PASSWORD });
      assert.equal(throttled.status, 200);
      assert.deepEqual(Object.keys(throttled.json), ["error"]);
      assert.match(throttled.json.error, /try again in \d+ seconds/);
      const jsonp = await send(port, `/lr/shop/v1/login?${new URLSearchParams({ callback: "cb", username: "bob", password: BOB_PASSWORD })}`);
      assert.match(unwrapJsonp(jsonp, "cb").error, /try again/);
    });
  });

  describe("hosted pages", () => {
    function assertPageHeaders(res: Res): void {
      const csp = String(res.headers["content-security-policy"]);
      for (const part of ["default-src 'none'", "frame-ancestors 'none'", "base-uri 'none'", "form-action 'self'"])
        assert.ok(csp.includes(part), `${part} in ${csp}`);
      assert.ok(!/script-src|unsafe-inline|unsafe-eval/.test(csp), csp);
      assert.equal(res.headers["x-frame-options"], "DENY");
      assert.equal(res.headers["x-content-type-options"], "nosniff");
      assert.equal(res.headers["referrer-policy"], "no-referrer");
      assert.equal(res.headers["cache-control"], "no-store");
      assert.match(String(res.headers["x-request-id"]), REQUEST_ID);
    }

    it("the login page is plain accessible HTML with the app's header, footer and stylesheet", async () => {
      const res = await send(port, "/lr/shop/");
      assert.equal(res.status, 200);
      assert.equal(res.headers["content-type"], "text/html; charset=utf-8");
      assertPageHeaders(res);
      const csp = String(res.headers["content-security-policy"]);
      assert.ok(csp.includes("form-action 'self' https://shop.example"), csp);
      assert.ok(csp.includes("style-src 'self' https://cdn.shop.example"), csp);
      const html = res.text;
      assert.match(html, /<html lang="en">/);
      assert.match(html, /<label for="username">Username<\/label>/);
      assert.match(html, /<input id="username" name="username" type="text" autocomplete="username"/);
      assert.match(html, /<label for="password">Password<\/label>/);
      assert.match(html, /autocomplete="current-password"/);
      assert.match(html, /<form method="post" action="\/lr\/shop\/">/);
      assert.ok(html.includes('<p class="brand">The <b>Shop</b> header</p>'));
      assert.ok(html.includes("<small>Shop footer text</small>"));
      assert.ok(html.includes('<link rel="stylesheet" href="https://cdn.shop.example/lr/theme.css"'));
      assert.ok(html.includes('<a href="/lr/shop/signup">Sign up</a>'));
      assert.ok(!/<script/i.test(html), "no script");
      assert.ok(!/style=/i.test(html), "no inline style");
      const cookie = String(res.headers["set-cookie"]);
      assert.match(cookie, /^rampart_csrf=[A-Za-z0-9_-]{43}; Path=\/lr\/shop\/; HttpOnly; SameSite=Strict$/);
      // Without the trailing slash too.
      assert.equal((await send(port, "/lr/shop")).status, 200);
    });

    it("the stylesheet is served from the page's origin", async () => {
      const css = await send(port, "/lr/shop/style.css");
      assert.equal(css.status, 200);
      assert.equal(css.headers["content-type"], "text/css; charset=utf-8");
      assert.equal(css.headers["x-content-type-options"], "nosniff");
    });

    it("a login form post answers 303 to exactly handler?token=…, ignoring redirect params", async () => {
      const page = csrfOf(await send(port, "/lr/shop/"));
      const res = await postForm(
        port,
        "/lr/shop/?redirect=https%3A%2F%2Fevil.example%2F&url=https%3A%2F%2Fevil.example%2F",
        {
          csrf_token: page.token,
          username: "alice",
          password: ALICE_PASSWORD,
          redirect: "https://evil.example/",
          url: "https://evil.example/x",
          next: "//evil.example",
        },
        { cookie: page.cookie },
      );
      assert.equal(res.status, 303, res.text);
      assertPageHeaders(res);
      const location = String(res.headers.location);
      const token = new URL(location).searchParams.get("token")!;
      assert.equal((await verified(token)).un, "alice");
      assert.equal(location, handlerUrl(SHOP_LOGIN, token));
      assert.ok(location.startsWith(`${SHOP_LOGIN}&token=`));
    });

    it("refuses a post without the CSRF cookie and field, with a wrong field, or a field of another app", async () => {
      const page = csrfOf(await send(port, "/lr/shop/"));
      const fields = { username: "alice", password: ALICE_PASSWORD };
      const attempts: [Record<string, string>, Record<string, string>][] = [
        [fields, {}],
        [fields, { cookie: page.cookie }],
        [{ ...fields, csrf_token: page.token }, {}],
        [{ ...fields, csrf_token: page.token.replace(/^./, (c) => (c === "A" ? "B" : "A")) }, { cookie: page.cookie }],
        [{ ...fields, csrf_token: page.cookie.split("=")[1]! }, { cookie: page.cookie }],
      ];
      const bare = csrfOf(await send(port, "/lr/closed/"));
      attempts.push([{ ...fields, csrf_token: bare.token }, { cookie: `rampart_csrf=${bare.cookie.split("=")[1]}` }]);
      for (const [body, headers] of attempts) {
        const res = await postForm(port, "/lr/shop/", body, headers);
        assert.equal(res.status, 403, JSON.stringify(body));
        assertPageHeaders(res);
        assert.match(res.text, /This form has expired or was not sent from this page/);
        assert.match(res.text, /value="alice"/, "the username is kept");
        assert.deepEqual(await eventsOf(res), [], "no login was attempted");
      }
    });

    it("processes given the same csrfKey accept each other's forms; another key refuses them", async () => {
      const key = new Uint8Array(32).fill(7);
      const apps = [
        buildHttpApp(t.rampart, { csrfKey: key }),
        buildHttpApp(t.rampart, { csrfKey: key }),
        buildHttpApp(t.rampart, { csrfKey: new Uint8Array(32).fill(8) }),
      ];
      try {
        const ports: number[] = [];
        for (const a of apps) {
          await a.listen({ host: "127.0.0.1", port: 0 });
          ports.push((a.server.address() as AddressInfo).port);
        }
        const post = async (from: number, to: number) => {
          const page = csrfOf(await send(from, "/lr/shop/"));
          return postForm(to, "/lr/shop/", { csrf_token: page.token, username: "alice", password: ALICE_PASSWORD }, { cookie: page.cookie });
        };
        assert.equal((await post(ports[0]!, ports[1]!)).status, 303, "issued by one, posted to the other");
        assert.equal((await post(ports[0]!, ports[2]!)).status, 403, "a process with another key refuses it");
      } finally {
        for (const a of apps) await a.close();
      }
    });

    it("a failed login shows the error and keeps the (escaped) username, never the password", async () => {
      const page = csrfOf(await send(port, "/lr/shop/"));
      const xss = `"><script>alert(1)</script><img src=x onerror=alert(2)>`;
      const res = await postForm(port, "/lr/shop/", { csrf_token: page.token, username: xss, password: "the-typed-password-9" }, { cookie: page.cookie });
      assert.equal(res.status, 200);
      assertPageHeaders(res);
      assert.match(res.text, /role="alert"/);
      assert.match(res.text, /Login failed/);
      assert.ok(!res.text.includes("<script>alert(1)"), "not raw");
      assert.ok(!res.text.includes("<img src=x"), "not raw");
      assert.ok(res.text.includes("&#34;&#62;&#60;script&#62;alert(1)&#60;/script&#62;"), "escaped in the value");
      assert.ok(!res.text.includes("the-typed-password-9"));
      assert.match(res.text, /aria-describedby="form-error"/);
    });

    it("the signup page asks for names as the provider says, and signs up with a 303 to the signup handler", async () => {
      const pageRes = await send(port, "/lr/shop/signup");
      assert.equal(pageRes.status, 200);
      assertPageHeaders(pageRes);
      assert.match(pageRes.text, /<input id="first_name" name="first_name" type="text" autocomplete="given-name" maxlength="255" required>/);
      assert.match(pageRes.text, /autocomplete="family-name"/);
      assert.match(pageRes.text, /autocomplete="email"/);
      assert.match(pageRes.text, /<input id="password_confirmation" name="password_confirmation" type="password" autocomplete="new-password"/);
      const page = csrfOf(pageRes);
      const failed = await postForm(
        port,
        "/lr/shop/signup",
        { csrf_token: page.token, username: "pagebee", email: "pagebee@example.com", password: SIGNUP_PASSWORD, password_confirmation: SIGNUP_PASSWORD },
        { cookie: page.cookie },
      );
      assert.equal(failed.status, 200);
      assert.match(failed.text, /First name can(&#39;|')t be blank/);
      assert.match(failed.text, /value="pagebee@example.com"/);
      const res = await postForm(
        port,
        "/lr/shop/signup",
        {
          csrf_token: page.token,
          username: "pagebee",
          email: "pagebee@example.com",
          first_name: "Page",
          last_name: "Bee",
          password: SIGNUP_PASSWORD,
          password_confirmation: SIGNUP_PASSWORD,
          redirect: "https://evil.example/",
        },
        { cookie: page.cookie },
      );
      assert.equal(res.status, 303, res.text);
      const location = String(res.headers.location);
      const token = new URL(location).searchParams.get("token")!;
      assert.equal((await verified(token)).un, "pagebee");
      assert.equal(location, handlerUrl(SHOP_SIGNUP, token));
    });

    it("a signup page where signup is off, an app without handler and an unknown app are clear pages", async () => {
      const closed = await send(port, "/lr/closed/signup");
      assert.equal(closed.status, 404);
      assertPageHeaders(closed);
      assert.match(closed.text, /Signup is not enabled for this app/);
      assert.ok(!closed.text.includes("<form"));
      const closedLogin = await send(port, "/lr/closed/");
      assert.ok(!closedLogin.text.includes("/signup"), "no signup link where signup is off");

      const bare = await send(port, "/lr/bare/");
      assert.equal(bare.status, 503);
      assertPageHeaders(bare);
      assert.match(bare.text, /no login handler configured/);
      assert.ok(!bare.text.includes("<form"));

      const unknown = await send(port, "/lr/nosuchapp/");
      assert.equal(unknown.status, 404);
      assertPageHeaders(unknown);
      assert.equal(unknown.headers["content-type"], "text/html; charset=utf-8");
      assert.match(unknown.text, /App not found/);
    });

    it("a form body that cannot be read is a 400 page", async () => {
      const res = await send(port, "/lr/shop/", { method: "POST", headers: FORM_TYPE, body: "username=%E0%A4&password=x" });
      assert.equal(res.status, 400);
      assertPageHeaders(res);
      assert.equal(res.headers["content-type"], "text/html; charset=utf-8");
    });
  });

  describe("through an HTTP helper (writes forwarded to the primary)", () => {
    it("logs in by path and by host, and posts a hosted form rendered by the helper", async () => {
      const shared = { csrfKey: new Uint8Array(32).fill(3), forwardToken: "helper-test-token" };
      const options = { trustedProxies: ["127.0.0.0/8", "::1"], loginRocketDomain: "login.test", ...shared };
      const primary = buildHttpApp(t.rampart, options);
      const helperApp = buildHttpApp(t.rampart, { ...options, forwardWrites: (request) => answerForwarded(primary, request) });
      try {
        await helperApp.listen({ host: "127.0.0.1", port: 0 });
        const helperPort = (helperApp.server.address() as AddressInfo).port;
        const byPath = await postJson(helperPort, "/lr/shop/v1/login", { username: "alice", password: ALICE_PASSWORD }, { origin: SHOP_ORIGIN });
        assert.equal(byPath.status, 200, byPath.text);
        assert.equal(byPath.headers["access-control-allow-origin"], SHOP_ORIGIN);
        assert.equal((await verified(byPath.json.token)).un, "alice");
        const byHost = await postJson(
          helperPort,
          "/v1/login",
          { username: "alice", password: ALICE_PASSWORD },
          { host: "shop.login.test", origin: SHOP_ORIGIN },
        );
        assert.equal(byHost.status, 200, byHost.text);
        const form = csrfOf(await send(helperPort, "/", { headers: { host: "shop.login.test" } }));
        const posted = await postForm(
          helperPort,
          "/",
          { csrf_token: form.token, username: "alice", password: ALICE_PASSWORD },
          { host: "shop.login.test", cookie: form.cookie },
        );
        assert.equal(posted.status, 303, posted.text);
        assert.ok(String(posted.headers.location).startsWith(`${SHOP_LOGIN}&token=`));
        issuedTokens.push(new URL(String(posted.headers.location)).searchParams.get("token")!);
      } finally {
        await helperApp.close();
        await primary.close();
      }
    });
  });

  describe("host-based routing", () => {
    it("serves <sub>.<domain>/v1/… and its pages at the host's root", async () => {
      const res = await postJson(proxiedPort, "/v1/login", { username: "alice", password: ALICE_PASSWORD }, { host: "shop.login.test", origin: SHOP_ORIGIN });
      assert.equal(res.status, 200, res.text);
      assert.equal(res.headers["access-control-allow-origin"], SHOP_ORIGIN);
      assert.equal((await verified(res.json.token)).un, "alice");

      const page = await send(proxiedPort, "/", { headers: { host: "SHOP.login.test:8443" } });
      assert.equal(page.status, 200);
      assert.match(page.text, /<form method="post" action="\/">/);
      assert.match(page.text, /href="\/style.css"/);
      assert.match(page.text, /href="\/signup"/);
      assert.match(String(page.headers["set-cookie"]), /Path=\/;/);
      const form = csrfOf(page);
      const posted = await postForm(
        proxiedPort,
        "/",
        { csrf_token: form.token, username: "alice", password: ALICE_PASSWORD },
        { host: "shop.login.test", cookie: form.cookie },
      );
      assert.equal(posted.status, 303);
      issuedTokens.push(new URL(String(posted.headers.location)).searchParams.get("token")!);
    });

    it("uses a __Host- cookie when a trusted proxy says the browser came over HTTPS", async () => {
      const page = await send(proxiedPort, "/signup", { headers: { host: "shop.login.test", "x-forwarded-proto": "https" } });
      assert.match(String(page.headers["set-cookie"]), /^__Host-rampart_csrf=[A-Za-z0-9_-]{43}; Path=\/; Secure; HttpOnly; SameSite=Strict$/);
      // From an untrusted peer the header means nothing.
      const direct = await send(port, "/lr/shop/signup", { headers: { "x-forwarded-proto": "https" } });
      assert.match(String(direct.headers["set-cookie"]), /^rampart_csrf=/);
    });

    it("other hosts, and hosts of other domains, are not LoginRocket", async () => {
      const other = await postJson(proxiedPort, "/v1/login", { username: "alice", password: ALICE_PASSWORD }, { host: "shop.other.test" });
      assert.equal(other.status, 404);
      assert.equal(other.json.code, "route.not_found");
      const nested = await postJson(proxiedPort, "/v1/login", { username: "alice", password: ALICE_PASSWORD }, { host: "a.shop.login.test" });
      assert.equal(nested.status, 404);
      // The management API is not served on a LoginRocket host.
      const users = await send(proxiedPort, "/v1/users", { headers: { host: "shop.login.test", "x-authrocket-api-key": t.adminKey } });
      assert.equal(users.status, 404);
      // Without a configured domain the Host header changes nothing.
      const plain = await postJson(port, "/v1/login", { username: "alice", password: ALICE_PASSWORD }, { host: "shop.login.test" });
      assert.equal(plain.status, 404);
    });

    it("login policies show the domain they are served under", async () => {
      const got = await t.rampart.loginPolicies.get({ ...admin, realmId: realm.id }, { id: shop.id });
      assert.deepEqual(got.domains, ["shop.login.test"]);
      assert.equal(got.base_domain, "login.test");
    });
  });

  describe("logs", () => {
    it("hold no password and no token, also for JSONP GETs, redirects and form posts", async () => {
      assert.ok(issuedTokens.length > 10, "tokens were issued above");
      const logs = logLines.join("");
      assert.match(logs, /"url":"\/lr\/shop\/v1\/login"/, "JSONP GETs are logged by path");
      assert.match(logs, /"request_id":"rq_/);
      for (const secret of [ALICE_PASSWORD, BOB_PASSWORD, SIGNUP_PASSWORD, "the-typed-password-9", ...issuedTokens]) {
        assert.ok(!logs.includes(secret), `a secret reached the logs: ${secret.slice(0, 12)}…`);
        assert.ok(!logs.includes(encodeURIComponent(secret)), `an encoded secret reached the logs: ${secret.slice(0, 12)}…`);
      }
      assert.ok(!logs.includes("callback="), "no query string is logged");
    });
  });
});
