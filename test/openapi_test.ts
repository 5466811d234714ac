/**
 * GET /openapi.json documents every route of the app (an undocumented route cannot even be
 * registered), every $ref resolves, and /docs serves a self-contained documentation page.
 */
import assert from "node:assert/strict";
import { after, test } from "node:test";
import { buildHttpApp, documentRoutes, V1_ROUTES } from "@rampart/http-bridge";
import { fastify } from "fastify";
import { openTestRampart } from "./helpers/rampart.ts";

const t = await openTestRampart();
const app = buildHttpApp(t.rampart, { version: "test" });
after(async () => {
  await app.close();
  await t.cleanup();
});
const res = await app.inject({ method: "GET", url: "/openapi.json" });
const doc = JSON.parse(res.body) as { openapi: string; paths: Record<string, Record<string, any>>; components: { schemas: Record<string, unknown> } };
const openApiPath = (path: string) => path.replace(/:([A-Za-z_]+)/g, "{$1}");

test("the document is OpenAPI 3.1 and lists every v1 route with its method", () => {
  assert.equal(res.statusCode, 200);
  assert.equal(doc.openapi, "3.1.0");
  for (const route of V1_ROUTES) {
    const op = doc.paths[openApiPath(route.path)]?.[route.method.toLowerCase()];
    assert.ok(op, `${route.method} ${route.path} is documented`);
    assert.equal(op.operationId, route.op.replace(".", "_"));
    assert.ok(op.responses[String(route.status)], `${route.op} documents its ${route.status}`);
    assert.ok(op.security.length > 0, `${route.op} needs an API key`);
  }
});

test("LoginRocket, hosted pages and operations routes are documented too", () => {
  for (const [path, method] of [
    ["/lr/{subdomain}/v1/{method}", "post"],
    ["/lr/{subdomain}/v1/{method}", "get"],
    ["/lr/{subdomain}/v1/{method}", "options"],
    ["/lr/{subdomain}/", "get"],
    ["/lr/{subdomain}/signup", "post"],
    ["/health", "get"],
    ["/openapi.json", "get"],
    ["/docs", "get"],
  ] as const) {
    assert.ok(doc.paths[path]?.[method], `${method.toUpperCase()} ${path}`);
  }
  assert.deepEqual(doc.paths["/health"]!.get.security, [], "health needs no key");
});

test("every $ref in the document resolves to a component schema", () => {
  const refs = JSON.stringify(doc).match(/"\$ref":"#\/components\/schemas\/[A-Za-z]+"/g) ?? [];
  assert.ok(refs.length > 20);
  for (const ref of new Set(refs)) {
    const name = ref.slice(ref.lastIndexOf("/") + 1, -1);
    assert.ok(doc.components.schemas[name], `${name} is defined`);
  }
});

test("a route without documentation cannot be registered", async () => {
  const bare = fastify();
  documentRoutes(bare);
  assert.throws(() => bare.get("/v1/undocumented", async () => "x"), /GET \/v1\/undocumented has no documentation/);
  await bare.close();
});

test("/docs is a self-contained page: its scripts come from this server, under a strict CSP", async () => {
  const page = await app.inject({ method: "GET", url: "/docs" });
  assert.equal(page.statusCode, 200);
  assert.match(String(page.headers["content-security-policy"]), /script-src 'self'/);
  for (const src of page.body.match(/(?:src|href)="([^"]+)"/g) ?? []) assert.match(src, /="\/docs\//, `local asset: ${src}`);
  const bundle = await app.inject({ method: "GET", url: "/docs/swagger-ui-bundle.js" });
  assert.equal(bundle.statusCode, 200);
  assert.ok(bundle.body.length > 100_000);
  assert.equal((await app.inject({ method: "GET", url: "/docs/..%2Fpackage.json" })).statusCode, 404);
  assert.match((await app.inject({ method: "GET", url: "/docs/init.js" })).body, /\/openapi\.json/);
});
