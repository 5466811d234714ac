/**
 * The OpenAPI 3.1 document, generated from the routes themselves: every route the app
 * registers gets its schema here (from the v1 route table, or from the few hand-described
 * routes below) through an `onRoute` hook, and `/openapi.json` is built from the schemas
 * the routes carry. A route without a schema fails test/openapi_test.ts.
 */
import { listOf, OBJECT_SCHEMAS, schemaRef } from "./schemas.ts";
import { V1_ROUTES, type RouteSpec } from "./routes.ts";

type Schema = Record<string, unknown>;

/** What a route's schema says about it (the OpenAPI operation, minus paths). */
export interface RouteDoc {
  summary: string;
  description?: string;
  tags: string[];
  operationId?: string;
  /** Query parameters: name → schema. */
  querystring?: Record<string, Schema>;
  body?: Schema;
  /** Status → response description and schema (undefined: no body). */
  response: Record<string, { description: string; schema?: Schema; contentType?: string }>;
  /** Needs a management API key. */
  authenticated?: boolean;
}

/** A route as collected by the onRoute hook. */
export interface DocumentedRoute {
  method: string;
  url: string;
  doc: RouteDoc;
}

const RESOURCE: Record<string, { object: string; wrapper: string; singular: string }> = {
  realms: { object: "Realm", wrapper: "realm", singular: "realm" },
  users: { object: "User", wrapper: "user", singular: "user" },
  events: { object: "Event", wrapper: "event", singular: "event" },
  orgs: { object: "Org", wrapper: "org", singular: "org" },
  memberships: { object: "Membership", wrapper: "membership", singular: "membership" },
  credentials: { object: "Credential", wrapper: "credential", singular: "credential" },
  sessions: { object: "Session", wrapper: "session", singular: "session" },
  userTokens: { object: "UserToken", wrapper: "user_token", singular: "user token" },
  loginPolicies: { object: "LoginPolicy", wrapper: "login_policy", singular: "login policy" },
  authProviders: { object: "AuthProvider", wrapper: "auth_provider", singular: "auth provider" },
  appHooks: { object: "AppHook", wrapper: "app_hook", singular: "app hook" },
};

const LIST_FILTERS: Record<string, string[]> = {
  realms: ["state", "reference"],
  users: ["user_type", "state", "reference", "email", "username"],
  orgs: ["state", "reference"],
  memberships: ["user_id", "org_id"],
  sessions: ["user_id"],
  events: ["realm_id", "user_id", "org_id", "membership_id", "app_hook_id", "login_policy_id", "auth_provider_id", "event_type", "created_at_after"],
  appHooks: ["state", "realm_id"],
};

const str = { type: "string" };
const requestHash: Schema = {
  type: "object",
  properties: { ip: str, client: str },
  description: "The end user's request: IP literal and client (≤ 255 chars)",
};
const expands: Schema = { oneOf: [str, { type: "array", items: str }], description: "Expansions (comma list or array)" };
const ERRORS = {
  "4XX": { description: "Error: `{errors, code}` (see docs/errors.md)", schema: schemaRef("Error") },
};

const CUSTOM_ACTIONS: Record<string, { summary: string; body?: Schema }> = {
  "users.authenticate": {
    summary: "Authenticate a user with a password (user plus token)",
    body: { type: "object", required: ["password"], properties: { password: str, request: requestHash, expands } },
  },
  "users.authenticateKey": {
    summary: "Authenticate an api user's key (user plus token)",
    body: { type: "object", required: ["api_key"], properties: { api_key: str, request: requestHash, expands } },
  },
  "users.generatePasswordToken": { summary: "Generate a password reset token (kpw_…)", body: { type: "object", properties: { request: requestHash } } },
  "users.resetPasswordWithToken": {
    summary: "Reset a password with a token ({u} may be --)",
    body: {
      type: "object",
      properties: { user: { type: "object", properties: { token: str, password: str, password_confirmation: str } }, request: requestHash },
    },
  },
  "users.updatePassword": {
    summary: "Change a password, given the current one",
    body: {
      type: "object",
      properties: { user: { type: "object", properties: { current_password: str, password: str, password_confirmation: str } }, request: requestHash },
    },
  },
  "realms.reset": { summary: "Reset a realm: delete its users, orgs, memberships, sessions and tokens" },
};

/** The documentation of one v1 management route. */
function v1Doc(route: RouteSpec): RouteDoc {
  const [resource, action] = route.op.split(".") as [string, string];
  const r = RESOURCE[resource]!;
  const custom = CUSTOM_ACTIONS[route.op];
  const summaries: Record<string, string> = {
    list: `List ${resource.replace(/([A-Z])/g, " $1").toLowerCase()}`,
    get: `Get a ${r.singular}`,
    create: `Create a ${r.singular}`,
    update: `Update a ${r.singular}`,
    delete: `Delete a ${r.singular}`,
  };
  const doc: RouteDoc = {
    summary: custom?.summary ?? summaries[action] ?? action,
    tags: [resource],
    operationId: route.op.replace(".", "_"),
    authenticated: true,
    response: {},
  };
  if (action === "list") {
    doc.querystring = {
      max_results: { type: "integer", minimum: 1, maximum: 1000, default: 100 },
      after: { type: "string", description: "Id of the last item seen" },
      sort: str,
      direction: { enum: ["asc", "desc"] },
      expands,
      ...Object.fromEntries((LIST_FILTERS[resource] ?? []).map((f) => [f, str])),
    };
  } else if (route.method === "GET") doc.querystring = { expands };
  if (route.method === "POST" || route.method === "PUT") {
    doc.body = custom
      ? (custom.body ?? { type: "object", properties: { request: requestHash } })
      : { type: "object", properties: { [r.wrapper]: schemaRef(r.object), request: requestHash, realm_id: str, expands } };
  }
  const objectName = route.op.startsWith("users.") ? "User" : r.object;
  if (route.status === 204) doc.response["204"] = { description: "Deleted" };
  else doc.response[String(route.status)] = { description: "OK", schema: action === "list" ? listOf(objectName) : schemaRef(objectName) };
  Object.assign(doc.response, ERRORS);
  return doc;
}

const V1_DOCS = new Map(V1_ROUTES.map((route) => [`${route.method} ${route.path}`, v1Doc(route)]));
const V1_PATHS = new Set(V1_ROUTES.map((route) => route.path));

const lrParams = { username: str, email: str, password: str, password_confirmation: str, first_name: str, last_name: str, token: str };
const lrResponse = {
  "200": {
    description: "`{token, url}` (logout: `{}`), or `{error}` when refused; JSONP wraps it in the callback",
    schema: { type: "object", properties: { token: str, url: { type: ["string", "null"] }, error: str } },
  },
  "400": { description: "Unreadable body, or a bad JSONP callback", schema: { type: "object", properties: { error: str } } },
  "403": { description: "An origin not listed in the app's cors_origins", schema: { type: "object", properties: { error: str } } },
  "404": { description: "No app at this subdomain", schema: { type: "object", properties: { error: str } } },
};
const html = (description: string) => ({ description, contentType: "text/html" });

/** Routes described by hand: everything that is not in the v1 route table. */
const OTHER_DOCS: Record<string, RouteDoc> = {
  "GET /health": {
    summary: "Health: 200 once the database answers",
    tags: ["operations"],
    response: { "200": { description: "OK", schema: { type: "object", properties: { status: { const: "ok" } } } } },
  },
  "GET /metrics": {
    summary: "Prometheus metrics",
    tags: ["operations"],
    response: { "200": { description: "Prometheus text format", contentType: "text/plain" } },
  },
  "GET /openapi.json": { summary: "This document", tags: ["operations"], response: { "200": { description: "OpenAPI 3.1" } } },
  "GET /docs": { summary: "Interactive API documentation", tags: ["operations"], response: { "200": html("HTML") } },
  "GET /docs/:file": { summary: "Assets of the documentation page", tags: ["operations"], response: { "200": { description: "A static file" } } },
  "GET /lr/:subdomain/v1/:method": {
    summary: "LoginRocket login, signup or logout as JSONP (`callback` required)",
    tags: ["loginrocket"],
    querystring: { callback: str, ...lrParams },
    response: { "200": { ...lrResponse["200"], contentType: "application/javascript" }, "400": lrResponse["400"], "404": lrResponse["404"] },
  },
  "POST /lr/:subdomain/v1/:method": {
    summary: "LoginRocket login, signup or logout (JSON or form body; CORS for the app's origins)",
    tags: ["loginrocket"],
    body: { type: "object", properties: lrParams },
    response: lrResponse,
  },
  "OPTIONS /lr/:subdomain/v1/:method": {
    summary: "CORS pre-flight (answered for the app's cors_origins only)",
    tags: ["loginrocket"],
    response: { "204": { description: "Allowed" }, "403": lrResponse["403"] },
  },
  "GET /lr/:subdomain/": { summary: "Hosted login page", tags: ["hosted pages"], response: { "200": html("Login form"), "404": html("No such app") } },
  "POST /lr/:subdomain/": {
    summary: "Submit the hosted login form (CSRF-protected); 303 to the app's login handler with ?token=",
    tags: ["hosted pages"],
    response: { "303": { description: "To the login handler" }, "200": html("The form again, with the error"), "403": html("CSRF check failed") },
  },
  "GET /lr/:subdomain/signup": {
    summary: "Hosted signup page",
    tags: ["hosted pages"],
    response: { "200": html("Signup form"), "404": html("No such app, or signup disabled") },
  },
  "POST /lr/:subdomain/signup": {
    summary: "Submit the hosted signup form (CSRF-protected); 303 to the app's signup handler with ?token=",
    tags: ["hosted pages"],
    response: { "303": { description: "To the signup handler" }, "200": html("The form again, with the error"), "403": html("CSRF check failed") },
  },
  "GET /lr/:subdomain/style.css": {
    summary: "The hosted pages' stylesheet",
    tags: ["hosted pages"],
    response: { "200": { description: "CSS", contentType: "text/css" } },
  },
};

/** The documentation of a route, or undefined when it has none (a test forbids that). */
export function docFor(method: string, url: string): RouteDoc | undefined {
  // `/lr/:subdomain` is the login page too (without its trailing slash).
  const key = `${method} ${url === "/lr/:subdomain" ? "/lr/:subdomain/" : url}`;
  const found = V1_DOCS.get(key) ?? OTHER_DOCS[key] ?? OTHER_DOCS[key.replace(/\/v1\/(login|signup|logout)$/, "/v1/:method")];
  if (found) return found;
  // The management API answers OPTIONS on every path with its allowed methods.
  if (method === "OPTIONS" && V1_PATHS.has(url))
    return { summary: "Allowed methods (Allow header)", tags: ["operations"], response: { "204": { description: "No content" } } };
  return undefined;
}

function toOpenApiPath(url: string): { path: string; params: string[] } {
  const params: string[] = [];
  const path = url.replace(/:([A-Za-z_]+)/g, (_m, name: string) => {
    params.push(name);
    return `{${name}}`;
  });
  return { path, params };
}

/** Builds the OpenAPI 3.1 document from the collected routes. */
export function buildOpenApi(routes: readonly DocumentedRoute[], version: string): Schema {
  const paths: Record<string, Record<string, Schema>> = {};
  for (const { method, url, doc } of routes) {
    const { path, params } = toOpenApiPath(url);
    // Fastify registers /lr/:subdomain/v1/login, …/signup and …/logout separately; the
    // document shows them as one path with the method as a parameter.
    const docPath = path.replace(/\/v1\/(login|signup|logout)$/, "/v1/{method}");
    if (docPath !== path && !params.includes("method")) params.push("method");
    const parameters: Schema[] = params.map((name) => ({
      name,
      in: "path",
      required: true,
      schema: name === "method" ? { enum: ["login", "signup", "logout"] } : str,
      ...(name === "id" ? { description: "Id (or, for users, the username; for sessions, the JWT); form-encoded" } : {}),
    }));
    for (const [name, schema] of Object.entries(doc.querystring ?? {})) parameters.push({ name, in: "query", required: name === "callback", schema });
    const responses: Record<string, Schema> = {};
    for (const [status, r] of Object.entries(doc.response)) {
      responses[status] = {
        description: r.description,
        ...(r.schema || r.contentType ? { content: { [r.contentType ?? "application/json"]: r.schema ? { schema: r.schema } : {} } } : {}),
      };
    }
    const operation: Schema = {
      summary: doc.summary,
      tags: doc.tags,
      ...(doc.operationId ? { operationId: doc.operationId } : {}),
      ...(parameters.length ? { parameters } : {}),
      ...(doc.body
        ? {
            requestBody: {
              content: {
                "application/json": { schema: doc.body },
                "application/x-www-form-urlencoded": { schema: doc.body },
              },
            },
          }
        : {}),
      responses,
      ...(doc.authenticated ? { security: [{ apiKey: [] }, { bearer: [] }, { legacyPair: [] }] } : { security: [] }),
    };
    (paths[docPath] ??= {})[method.toLowerCase()] = operation;
  }
  return {
    openapi: "3.1.0",
    info: {
      title: "Rampart",
      version,
      description:
        "The AuthRocket v1 API (July 2015) as served by Rampart, plus the LoginRocket end-user API and hosted pages. Every response carries X-Request-ID. Realm-scoped calls take the realm from realm_id (query or body) or the X-Authrocket-Realm header.",
    },
    paths,
    components: {
      schemas: OBJECT_SCHEMAS,
      securitySchemes: {
        apiKey: { type: "apiKey", in: "header", name: "X-Authrocket-Api-Key", description: "A ko_<id>-<secret> management key" },
        bearer: { type: "http", scheme: "bearer", description: "The ko_ key as a bearer token" },
        legacyPair: { type: "apiKey", in: "header", name: "X-Authrocket-Account", description: "With X-Authrocket-Api-Key: key_<secret>" },
      },
    },
  };
}
