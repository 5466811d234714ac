/**
 * The contract client for the HTTP surface: the bridge listening on a real socket
 * (127.0.0.1, a free port), called with the global `fetch` the way a v1 client calls it.
 */
import type { AddressInfo } from "node:net";
import qs from "qs";
import type { JsonObject, Params, Rampart } from "@rampart/core";
import { buildHttpApp, kindForHttpStatus } from "@rampart/http-bridge";
import { ApiError, type CallOptions, type ContractApi, type OpName } from "./api.ts";

type Method = "GET" | "POST" | "PUT" | "DELETE";

/**
 * How each operation travels over HTTP. Written out here rather than taken from the bridge's
 * route table, so that a wrong row in the bridge shows up as a failing contract case.
 */
const ROUTES: Record<OpName, { method: Method; path: string }> = {
  "realms.list": { method: "GET", path: "/v1/realms" },
  "realms.get": { method: "GET", path: "/v1/realms/:id" },
  "realms.create": { method: "POST", path: "/v1/realms" },
  "realms.update": { method: "PUT", path: "/v1/realms/:id" },
  "realms.delete": { method: "DELETE", path: "/v1/realms/:id" },
  "realms.reset": { method: "POST", path: "/v1/realms/:id/reset" },
  "users.list": { method: "GET", path: "/v1/users" },
  "users.get": { method: "GET", path: "/v1/users/:id" },
  "users.create": { method: "POST", path: "/v1/users" },
  "users.update": { method: "PUT", path: "/v1/users/:id" },
  "users.delete": { method: "DELETE", path: "/v1/users/:id" },
  "users.authenticate": { method: "POST", path: "/v1/users/:id/authenticate" },
  "users.authenticateKey": { method: "POST", path: "/v1/users/authenticate_key" },
  "users.generatePasswordToken": { method: "POST", path: "/v1/users/:id/generate_password_token" },
  "users.resetPasswordWithToken": { method: "POST", path: "/v1/users/:id/reset_password_with_token" },
  "users.updatePassword": { method: "PUT", path: "/v1/users/:id/update_password" },
  "orgs.list": { method: "GET", path: "/v1/orgs" },
  "orgs.get": { method: "GET", path: "/v1/orgs/:id" },
  "orgs.create": { method: "POST", path: "/v1/orgs" },
  "orgs.update": { method: "PUT", path: "/v1/orgs/:id" },
  "orgs.delete": { method: "DELETE", path: "/v1/orgs/:id" },
  "memberships.list": { method: "GET", path: "/v1/memberships" },
  "memberships.get": { method: "GET", path: "/v1/memberships/:id" },
  "memberships.create": { method: "POST", path: "/v1/memberships" },
  "memberships.update": { method: "PUT", path: "/v1/memberships/:id" },
  "memberships.delete": { method: "DELETE", path: "/v1/memberships/:id" },
  "credentials.get": { method: "GET", path: "/v1/credentials/:id" },
  "credentials.create": { method: "POST", path: "/v1/credentials" },
  "credentials.update": { method: "PUT", path: "/v1/credentials/:id" },
  "credentials.delete": { method: "DELETE", path: "/v1/credentials/:id" },
  "sessions.list": { method: "GET", path: "/v1/sessions" },
  "sessions.get": { method: "GET", path: "/v1/sessions/:id" },
  "sessions.create": { method: "POST", path: "/v1/sessions" },
  "sessions.delete": { method: "DELETE", path: "/v1/sessions/:id" },
  "userTokens.get": { method: "GET", path: "/v1/user_tokens/:id" },
  "userTokens.create": { method: "POST", path: "/v1/user_tokens" },
  "loginPolicies.list": { method: "GET", path: "/v1/login_policies" },
  "loginPolicies.get": { method: "GET", path: "/v1/login_policies/:id" },
  "loginPolicies.create": { method: "POST", path: "/v1/login_policies" },
  "loginPolicies.update": { method: "PUT", path: "/v1/login_policies/:id" },
  "loginPolicies.delete": { method: "DELETE", path: "/v1/login_policies/:id" },
  "authProviders.list": { method: "GET", path: "/v1/auth_providers" },
  "authProviders.get": { method: "GET", path: "/v1/auth_providers/:id" },
  "authProviders.create": { method: "POST", path: "/v1/auth_providers" },
  "authProviders.update": { method: "PUT", path: "/v1/auth_providers/:id" },
  "authProviders.delete": { method: "DELETE", path: "/v1/auth_providers/:id" },
  "appHooks.list": { method: "GET", path: "/v1/app_hooks" },
  "appHooks.get": { method: "GET", path: "/v1/app_hooks/:id" },
  "appHooks.create": { method: "POST", path: "/v1/app_hooks" },
  "appHooks.update": { method: "PUT", path: "/v1/app_hooks/:id" },
  "appHooks.delete": { method: "DELETE", path: "/v1/app_hooks/:id" },
  "events.list": { method: "GET", path: "/v1/events" },
  "events.get": { method: "GET", path: "/v1/events/:id" },
};

/** Form-encodes a path id as 2015 clients do: `%XX` escapes and `+` for a space. */
function formEncode(id: string): string {
  return encodeURIComponent(id).replace(/%20/g, "+");
}

/** Builds the path and query (GET/DELETE) or JSON body (POST/PUT) of one call. */
function encodeCall(op: OpName, params: Params): { method: Method; path: string; body: string | undefined } {
  const { method, path: template } = ROUTES[op];
  const rest: Params = { ...params };
  let path = template;
  if (template.includes(":id")) {
    path = template.replace(":id", formEncode(String(params.id ?? "")));
    delete rest.id;
  }
  if (method === "GET" || method === "DELETE") {
    // Bracket syntax: `expands[]=a`, `request[ip]=…`; null means "not given".
    const query = qs.stringify(rest, { arrayFormat: "brackets", encodeValuesOnly: true, skipNulls: true });
    return { method, path: query === "" ? path : `${path}?${query}`, body: undefined };
  }
  return { method, path, body: JSON.stringify(rest) };
}

/** Starts the bridge over `rampart` on 127.0.0.1:0 and returns a ContractApi calling it over HTTP. */
export async function httpApi(rampart: Rampart, adminKey: string): Promise<ContractApi> {
  const app = buildHttpApp(rampart, { logger: false });
  await app.listen({ host: "127.0.0.1", port: 0 });
  const { port } = app.server.address() as AddressInfo;
  const base = `http://127.0.0.1:${port}`;

  return {
    name: "http",
    typed: false,
    async call(op: OpName, params: Params, options: CallOptions = {}) {
      const { method, path, body } = encodeCall(op, params);
      // 2015 clients send the JSON content type on every request, bodiless ones included.
      const headers: Record<string, string> = { accept: "application/json", "content-type": "application/json" };
      const apiKey = options.apiKey === undefined ? adminKey : options.apiKey;
      if (apiKey !== null) headers["x-authrocket-api-key"] = apiKey;
      if (options.realmId !== undefined) headers["x-authrocket-realm"] = options.realmId;

      const res = await fetch(base + path, { method, headers, ...(body === undefined ? {} : { body }) });
      const requestId = res.headers.get("x-request-id") ?? "";
      const text = await res.text();
      if (res.ok) {
        return { body: res.status === 204 || text === "" ? undefined : (JSON.parse(text) as JsonObject), requestId };
      }
      let parsed: { code?: string; errors?: Record<string, string[]> } = {};
      try {
        parsed = JSON.parse(text) as typeof parsed;
      } catch {
        // Not a v1 error body; the kind and the empty errors say enough.
      }
      const retryAfter = res.headers.get("retry-after");
      throw new ApiError(
        kindForHttpStatus(res.status) ?? `HTTP_${res.status}`,
        parsed.code ?? "",
        parsed.errors ?? {},
        requestId,
        retryAfter === null ? undefined : Number(retryAfter),
      );
    },
    async close() {
      await app.close();
    },
  };
}
