/**
 * @rampart/http-bridge: the JSON v1 API over HTTP (Fastify), a thin layer over core.
 *
 * ```ts
 * const app = buildHttpApp(rampart, { logger: true });
 * await app.listen({ host: "127.0.0.1", port: 8080 });
 * ```
 */
export { buildHttpApp, DEFAULT_BODY_LIMIT, type HttpAppOptions } from "./app.ts";
export { V1_ROUTES, type RouteSpec, type OperationName } from "./routes.ts";
export { HTTP_STATUS_BY_KIND, kindForHttpStatus } from "./status.ts";
export { FORM_LIMITS } from "./form_params.ts";
export { MAX_JSON_DEPTH } from "./json_body.ts";
