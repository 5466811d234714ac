/** The hosted pages' markup follows the realm's rules (HTML rendering only; the HTTP flow is in login_rocket_http_test). */
import assert from "node:assert/strict";
import { test } from "node:test";
import type { LoginRocketApp } from "@rampart/core";
import { type PageView, renderLoginPage, renderSignupPage } from "../http-bridge/hosted_pages.ts";

const app = (overrides: Partial<LoginRocketApp>): LoginRocketApp => ({
  policy_id: "lpl_0000000000000000000000",
  realm_id: "rl_0000000000000000000000",
  name: "Shop <&>",
  subdomain: "shop",
  login_handler: "https://shop.example.com/login",
  signup_handler: null,
  cors_origins: [],
  header: null,
  footer: null,
  external_css: null,
  login: true,
  signup: true,
  name_field: "none",
  username_is_email: false,
  ...overrides,
});
const view = (a: LoginRocketApp): PageView => ({ app: a, base: "/lr/shop", csrf: "token" });

test("in an email-username realm the pages ask for an email, required, and no separate username", () => {
  const login = renderLoginPage(view(app({ username_is_email: true })));
  assert.match(login, /<input[^>]*name="username"[^>]*type="email"|<input[^>]*type="email"[^>]*name="username"/);
  const signup = renderSignupPage(view(app({ username_is_email: true })));
  assert.doesNotMatch(signup, /name="username"/);
  assert.match(signup, /name="email"[^>]*required|required[^>]*name="email"/);
});

test("in a standard realm signup needs a username and takes an optional email", () => {
  const signup = renderSignupPage(view(app({})));
  assert.match(signup, /name="username"[^>]*required|required[^>]*name="username"/);
  assert.doesNotMatch(signup, /name="email"[^>]*required|required[^>]*name="email"/);
  assert.match(renderLoginPage(view(app({}))), /type="text"/);
  assert.ok(!signup.includes("Shop <&>"), "the app name is escaped");
});
