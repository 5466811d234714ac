/**
 * @rampart/http-bridge: the JSON v1 API and LoginRocket over HTTP (Fastify), a thin layer over core.
 *
 * ```ts
 * const app = buildHttpApp(rampart, { logger: true });
 * await app.listen({ host: "127.0.0.1", port: 8080 });
 * ```
 */
export { buildHttpApp, DEFAULT_BODY_LIMIT, shedConnections, startDraining, type HttpAppOptions } from "./app.ts";
export { clientIp, normalizeIp, parseIpRange, parseTrustedProxies, splitProxyList, TrustedProxyError, type TrustedProxies } from "./client_ip.ts";
export { isValidLoginRocketDomain } from "./login_rocket_host.ts";
export { isValidCallback, jsonpBody, MAX_CALLBACK_LENGTH } from "./jsonp.ts";
export { CORS_MAX_AGE, CORS_METHODS } from "./cors.ts";
export { V1_ROUTES, type RouteSpec, type OperationName } from "./routes.ts";
export { HTTP_STATUS_BY_KIND, kindForHttpStatus } from "./status.ts";
export { FORM_LIMITS } from "./form_params.ts";
export { MAX_JSON_DEPTH } from "./json_body.ts";
export { documentRoutes, type HttpMetrics } from "./operations_routes.ts";
export { buildOpenApi, docFor, type DocumentedRoute, type RouteDoc } from "./openapi.ts";
export { answerForwarded, type ForwardedRequest, type ForwardedResponse } from "./forward.ts";
