/**
 * Routes for operators: `/openapi.json` (built from the routes' own schemas), `/docs` (the
 * Swagger UI bundled in swagger-ui-dist, served from this process: no external assets), and
 * `/metrics` (Prometheus text, when the server provides metrics).
 */
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import type { FastifyInstance, RouteOptions } from "fastify";
import { wasForwarded } from "./forward.ts";
import { buildOpenApi, docFor, type DocumentedRoute, type RouteDoc } from "./openapi.ts";
import { serializeJson } from "./serialize.ts";

/** What the HTTP app reports to, and reads, metrics through (the server wires prom-client). */
export interface HttpMetrics {
  /** One answered request: the route pattern (or "unmatched"), method, status, seconds. */
  observe(route: string, method: string, status: number, seconds: number): void;
  /** The exposition text and its content type. */
  render(): Promise<{ contentType: string; body: string }>;
}

const DOCS_FILES: Record<string, string> = {
  "swagger-ui.css": "text/css; charset=utf-8",
  "swagger-ui-bundle.js": "application/javascript; charset=utf-8",
  "swagger-ui-standalone-preset.js": "application/javascript; charset=utf-8",
};

const DOCS_PAGE = `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Rampart API</title><link rel="stylesheet" href="/docs/swagger-ui.css"></head>
<body><div id="swagger-ui"></div>
<script src="/docs/swagger-ui-bundle.js"></script>
<script src="/docs/swagger-ui-standalone-preset.js"></script>
<script src="/docs/init.js"></script>
</body>
</html>
`;
// A file, not an inline script, so the page's CSP needs no 'unsafe-inline' for scripts.
const DOCS_INIT = `window.ui = SwaggerUIBundle({ url: "/openapi.json", dom_id: "#swagger-ui", deepLinking: true, presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset], layout: "StandaloneLayout" });\n`;
const DOCS_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'";

/**
 * Gives every route registered after this call its documentation schema, and collects them
 * for the OpenAPI document. Call before any route is added. A route without documentation
 * cannot be registered: the app fails to build, naming it.
 */
export function documentRoutes(app: FastifyInstance): DocumentedRoute[] {
  const collected: DocumentedRoute[] = [];
  // Schemas here document; they do not validate or serialize (core validates every input for
  // every surface, and responses are plain JSON).
  app.setValidatorCompiler(() => () => true);
  app.setSerializerCompiler(() => serializeJson);
  app.addHook("onRoute", (route: RouteOptions) => {
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    for (const method of methods) {
      if (method === "HEAD") continue; // Fastify derives HEAD from GET
      const doc = docFor(method, route.url);
      if (!doc) throw new Error(`route ${method} ${route.url} has no documentation: describe it in http-bridge/openapi.ts`);
      route.schema = { ...(route.schema ?? {}), ...doc } as RouteOptions["schema"];
      // The document is built from the schema the route carries.
      collected.push({ method, url: route.url, doc: route.schema as unknown as RouteDoc });
    }
  });
  return collected;
}

/** Registers /openapi.json, /docs and (with `metrics`) /metrics. */
export function registerOperationsRoutes(app: FastifyInstance, routes: readonly DocumentedRoute[], options: { metrics?: HttpMetrics; version: string }): void {
  let document: string | undefined;
  app.get("/openapi.json", async (_request, reply) => {
    document ??= JSON.stringify(buildOpenApi(routes, options.version));
    return reply.header("content-type", "application/json; charset=utf-8").send(document);
  });

  const dist = dirname(createRequire(import.meta.url).resolve("swagger-ui-dist/package.json"));
  const files = new Map<string, Buffer>();
  app.get("/docs", async (_request, reply) =>
    reply.header("content-type", "text/html; charset=utf-8").header("content-security-policy", DOCS_CSP).send(DOCS_PAGE),
  );
  app.get("/docs/:file", async (request, reply) => {
    const file = (request.params as { file: string }).file;
    if (file === "init.js") return reply.header("content-type", "application/javascript; charset=utf-8").send(DOCS_INIT);
    const type = DOCS_FILES[file];
    if (!type) return reply.code(404).header("content-type", "text/plain; charset=utf-8").send("Not found");
    let body = files.get(file);
    if (!body) files.set(file, (body = readFileSync(join(dist, file))));
    return reply.header("content-type", type).header("cache-control", "public, max-age=86400").send(body);
  });

  if (options.metrics) {
    const metrics = options.metrics;
    app.get("/metrics", async (_request, reply) => {
      const { contentType, body } = await metrics.render();
      return reply.header("content-type", contentType).send(body);
    });
    app.addHook("onResponse", (request, reply, done) => {
      // A request a helper forwarded is observed where it ran: in the primary.
      if (wasForwarded(request)) return done();
      metrics.observe(request.routeOptions.url ?? "unmatched", request.method, reply.statusCode, reply.elapsedTime / 1000);
      done();
    });
  }
}
