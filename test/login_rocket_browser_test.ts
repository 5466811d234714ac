/**
 * LoginRocket in a real browser: headless Chromium (Debian's /usr/bin/chromium, driven by
 * playwright-core) against a real Rampart HTTP server. A second server on another port (a
 * different origin) plays the app: its handler page receives the token, and its pages call
 * the LoginRocket API with CORS `fetch` and JSONP. A third port is an origin the app's login
 * policy does not list. Chromium is required: without it this file fails, it never skips.
 */
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { FastifyInstance } from "fastify";
import { jwtVerify } from "jose";
import { chromium, type BrowserContext, type Page } from "playwright-core";
import type { CallContext } from "@rampart/core";
import { buildHttpApp } from "@rampart/http-bridge";
import { openTestRampart, type TestRampart } from "./helpers/rampart.ts";

const CHROMIUM = "/usr/bin/chromium";
const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];
const PASSWORD = "browser-Secret-pw-4417";

/** What the app's handler pages received. */
interface HandlerHit {
  path: string;
  token: string | null;
  headers: IncomingHttpHeaders;
}

/** Listens on 127.0.0.1 on a free port and returns it. */
async function listen(server: Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return (server.address() as AddressInfo).port;
}

describe("LoginRocket in headless Chromium", { timeout: 180_000 }, () => {
  let t: TestRampart;
  let rampartApp: FastifyInstance;
  let rampartBase: string;
  let appServer: Server;
  let otherServer: Server;
  let appOrigin: string;
  let otherOrigin: string;
  let context: BrowserContext;
  let userDataDir: string;
  let realm: any;
  let admin: CallContext;
  const hits: HandlerHit[] = [];

  before(async () => {
    if (!existsSync(CHROMIUM)) {
      throw new Error(`Chromium is not installed at ${CHROMIUM}; install it with: apt-get update && apt-get install -y chromium (CI's .ci/run does this)`);
    }
    // The app: a handler page that shows the token, and a blank page to run scripts from.
    const appHandler = (req: import("node:http").IncomingMessage, res: import("node:http").ServerResponse): void => {
      const url = new URL(req.url ?? "/", "http://app.invalid");
      if (url.pathname === "/handler" || url.pathname === "/welcome") {
        hits.push({ path: url.pathname, token: url.searchParams.get("token"), headers: req.headers });
        res.writeHead(200, { "content-type": "text/html; charset=utf-8" });
        res.end(`<!doctype html><html lang="en"><title>Handler</title><h1>Welcome back</h1><p id="path">${url.pathname}</p></html>`);
        return;
      }
      res.writeHead(200, { "content-type": "text/html; charset=utf-8" });
      res.end('<!doctype html><html lang="en"><title>App</title><h1>App page</h1></html>');
    };
    appServer = createServer(appHandler);
    otherServer = createServer(appHandler);
    appOrigin = `http://127.0.0.1:${await listen(appServer)}`;
    otherOrigin = `http://127.0.0.1:${await listen(otherServer)}`;

    t = await openTestRampart();
    admin = { requestId: "rq_0000000000000000000000", credentials: { apiKey: t.adminKey } };
    realm = await t.rampart.realms.create(admin, { realm: { name: "Browser realm" } });
    const r = { ...admin, realmId: realm.id };
    await t.rampart.loginPolicies.create(r, {
      login_policy: {
        name: "Web App",
        subdomain: "webapp",
        login_handler: `${appOrigin}/handler`,
        signup_handler: `${appOrigin}/welcome`,
        cors_origins: [appOrigin],
        header: "<p>Web App header</p>",
        // Admin HTML may hold a script; the page's CSP must keep it from running.
        footer: '<p>Footer</p><script>window.pwned = true</script><img src=x onerror="window.pwned = true">',
      },
    });
    await t.rampart.authProviders.create(r, { auth_provider: { provider_type: "login_rocket", signup: true, name_field: "optional" } });
    await t.rampart.users.create(r, { user: { username: "walter", password: PASSWORD, password_confirmation: PASSWORD } });

    rampartApp = buildHttpApp(t.rampart);
    await rampartApp.listen({ host: "127.0.0.1", port: 0 });
    rampartBase = `http://127.0.0.1:${(rampartApp.server.address() as AddressInfo).port}`;

    userDataDir = mkdtempSync(join(tmpdir(), "rampart-chromium-"));
    context = await chromium.launchPersistentContext(userDataDir, { executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
  });

  after(async () => {
    await context?.close();
    if (userDataDir) rmSync(userDataDir, { recursive: true, force: true });
    await rampartApp?.close();
    await new Promise((resolve) => appServer?.close(resolve));
    await new Promise((resolve) => otherServer?.close(resolve));
    await t?.cleanup();
  });

  async function claimsOf(token: string): Promise<any> {
    const { payload } = await jwtVerify(token, new TextEncoder().encode(realm.jwt_secret), { algorithms: ["HS256"] });
    return payload;
  }

  /** A fresh tab in the shared browser profile. */
  async function newPage(): Promise<{ page: Page }> {
    return { page: await context.newPage() };
  }

  it("a user signs up on the hosted signup page and lands on the signup handler with a token", async () => {
    const { page } = await newPage();
    await page.goto(`${rampartBase}/lr/webapp/signup`);
    assert.equal(await page.title(), "Sign up for Web App");
    await page.getByLabel("First name").fill("Sally");
    await page.getByLabel("Last name").fill("Signup");
    await page.getByLabel("Username").fill("sally");
    await page.getByLabel("Email").fill("sally@example.com");
    await page.getByLabel("Password", { exact: true }).fill(PASSWORD);
    await page.getByLabel("Confirm password").fill(PASSWORD);
    await Promise.all([page.waitForURL(`${appOrigin}/welcome?token=*`), page.getByRole("button", { name: "Sign up" }).click()]);
    const token = new URL(page.url()).searchParams.get("token")!;
    const claims = await claimsOf(token);
    assert.equal(claims.un, "sally");
    assert.equal(claims.fn, "Sally");
    const hit = hits.at(-1)!;
    assert.equal(hit.path, "/welcome");
    assert.equal(hit.token, token);
    assert.equal(hit.headers.referer, undefined, "no Referer leaves the hosted page");
    await page.close();
  });

  it("a user logs in on the hosted login page and lands on the login handler with a token", async () => {
    const { page } = await newPage();
    await page.goto(`${rampartBase}/lr/webapp/`);
    assert.equal(await page.title(), "Log in to Web App");
    assert.equal(await page.evaluate(() => (window as unknown as { pwned?: boolean }).pwned), undefined, "admin HTML cannot run scripts");
    // The page's own stylesheet passes its CSP.
    const buttonColour = await page.getByRole("button", { name: "Log in" }).evaluate((b) => getComputedStyle(b).backgroundColor);
    assert.equal(buttonColour, "rgb(26, 86, 219)");
    // A wrong password first: the error is announced and the username kept.
    await page.getByLabel("Username").fill("walter");
    await page.getByLabel("Password").fill("not-the-password-1");
    await Promise.all([page.waitForLoadState("load"), page.getByRole("button", { name: "Log in" }).click()]);
    await page.getByRole("alert").waitFor();
    assert.match((await page.getByRole("alert").textContent()) ?? "", /Login failed/);
    assert.equal(await page.getByLabel("Username").inputValue(), "walter");
    await page.getByLabel("Password").fill(PASSWORD);
    await Promise.all([page.waitForURL(`${appOrigin}/handler?token=*`), page.getByRole("button", { name: "Log in" }).click()]);
    const token = new URL(page.url()).searchParams.get("token")!;
    assert.equal((await claimsOf(token)).un, "walter");
    assert.equal(hits.at(-1)!.token, token);
    assert.equal(await page.locator("#path").textContent(), "/handler");
    // The login event names the browser as the client.
    const events = await t.rampart.events.list({ ...admin, realmId: realm.id }, { event_type: "user.login.succeeded", max_results: 1 });
    assert.match(String((events.collection[0] as any).request.client), /Chrome/);
    await page.close();
  });

  it("a page on an allowed origin logs in with a CORS fetch and reads the token", async () => {
    const { page } = await newPage();
    await page.goto(`${appOrigin}/app`);
    const result = await page.evaluate(
      async ({ url, password }) => {
        const res = await fetch(url, {
          method: "POST",
          headers: { "Content-Type": "application/json" },
          body: JSON.stringify({ username: "walter", password }),
        });
        return { status: res.status, body: await res.json(), requestId: res.headers.get("X-Request-ID") };
      },
      { url: `${rampartBase}/lr/webapp/v1/login`, password: PASSWORD },
    );
    assert.equal(result.status, 200);
    assert.equal((await claimsOf(result.body.token)).un, "walter");
    assert.equal(result.body.url, `${appOrigin}/handler?token=${encodeURIComponent(result.body.token)}`);
    assert.match(String(result.requestId), /^rq_/, "X-Request-ID is exposed to the page");
    // A failure is readable too.
    const failed = await page.evaluate(async (url) => {
      const body = new URLSearchParams({ username: "walter", password: "wrong-wrong-1" });
      return (await fetch(url, { method: "POST", body })).json();
    }, `${rampartBase}/lr/webapp/v1/login`);
    assert.match(failed.error, /Login failed/);
    await page.close();
  });

  it("a page logs in with JSONP through a script element and reads the token", async () => {
    const { page } = await newPage();
    await page.goto(`${otherOrigin}/app`);
    const body = await page.evaluate(
      ({ base, password }) =>
        new Promise<any>((resolve, reject) => {
          (window as unknown as Record<string, unknown>).onLogin = resolve;
          const script = document.createElement("script");
          script.src = `${base}/lr/webapp/v1/login?${new URLSearchParams({ callback: "onLogin", username: "walter", password })}`;
          script.onerror = () => reject(new Error("the JSONP script failed to load"));
          document.head.append(script);
        }),
      { base: rampartBase, password: PASSWORD },
    );
    assert.equal((await claimsOf(body.token)).un, "walter");
    await page.close();
  });

  it("a page on an origin the policy does not list cannot read the answer", async () => {
    const { page } = await newPage();
    await page.goto(`${otherOrigin}/app`);
    const outcome = await page.evaluate(
      async ({ url, password }) => {
        const results: string[] = [];
        // A JSON post needs a pre-flight (refused); a form post is "simple" but its answer has no allow header.
        const attempts: RequestInit[] = [
          { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ username: "walter", password }) },
          { method: "POST", body: new URLSearchParams({ username: "walter", password }) },
        ];
        for (const init of attempts) {
          try {
            await (await fetch(url, init)).text();
            results.push("read");
          } catch (err) {
            results.push((err as Error).name);
          }
        }
        return results;
      },
      { url: `${rampartBase}/lr/webapp/v1/login`, password: PASSWORD },
    );
    assert.deepEqual(outcome, ["TypeError", "TypeError"]);
    await page.close();
  });
});
