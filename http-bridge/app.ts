/**
 * The Fastify app serving the JSON v1 management API and LoginRocket (the end-user API and
 * the hosted pages) over core. Thin by design: parse the request, build the call context,
 * call core, map the result or error. Field validation, permissions and every business rule
 * live in core.
 */
import { STATUS_CODES } from "node:http";
import type { Socket } from "node:net";
import { fastify, type FastifyInstance, type FastifyReply, type FastifyRequest } from "fastify";
import { CoreError, isReadOnlyOperation, newRequestId, type Params, type Rampart } from "@rampart/core";
import { registerBodyParsers } from "./body_parsers.ts";
import { documentRoutes, type HttpMetrics, registerOperationsRoutes } from "./operations_routes.ts";
import { forwardedRequestId, forwardWrites, WRITES, type ForwardedRequest, type ForwardedResponse } from "./forward.ts";
import { callContextFrom } from "./call_context.ts";
import { ioTurnOf } from "./io_turn.ts";
import { JSON_CONTENT_TYPE, REQUEST_ID_HEADER, handleError, sendError, transportError } from "./error_reply.ts";
import { parseFormEncoded, rawQueryOf } from "./form_params.ts";
import { parseTrustedProxies } from "./client_ip.ts";
import { registerHostedPages } from "./hosted_page_routes.ts";
import { loginRocketRewriter } from "./login_rocket_host.ts";
import { registerLoginRocketApi } from "./login_rocket_routes.ts";
import { RequestLogController, lazyChildLogger, loggerSettings } from "./logging.ts";
import { decodePathId, idSegmentIndex, rawPathSegment } from "./path_id.ts";
import { V1_ROUTES, bindOperation, type RouteSpec } from "./routes.ts";

/** Default request body limit: 1 MiB (http-v1.md §2.5). */
export const DEFAULT_BODY_LIMIT = 1024 * 1024;

/**
 * Longest path segment the router accepts. Fastify's default (100) is shorter than an
 * escaped email address or a JWT used as a session id.
 */
const MAX_PATH_SEGMENT = 8192;

/** Options of {@link buildHttpApp}. */
export interface HttpAppOptions {
  /**
   * Fastify's logger: `false` (default), `true`, pino options (`{ level, stream }`) or a pino
   * logger. Whatever is given, URLs are logged without query strings and credential headers
   * are redacted; every line of a request carries its id as `request_id`.
   */
  logger?: boolean | object;
  /** Largest accepted request body in bytes (default {@link DEFAULT_BODY_LIMIT}); larger → 413. */
  bodyLimit?: number;
  /**
   * Proxies whose `X-Forwarded-For` (and `X-Forwarded-Proto`) LoginRocket believes: IP
   * addresses and CIDR ranges (`10.0.0.0/8`, `::1`). Empty (default): the socket's peer is the
   * client. A bad entry throws a `TrustedProxyError` (client_ip.ts) naming it.
   */
  trustedProxies?: readonly string[];
  /**
   * Serve each LoginRocket app also at `<subdomain>.<loginRocketDomain>` (by the `Host`
   * header), besides `/lr/<subdomain>`. A lower-case host name without port.
   */
  loginRocketDomain?: string;
  /** Serves `/metrics` and reports every answered request to it. */
  metrics?: HttpMetrics;
  /** The version shown in the OpenAPI document. */
  version?: string;
  /**
   * Set in a helper process: requests that may write are answered by this function (the
   * primary's app, through {@link answerForwarded}) instead of this app. See forward.ts.
   */
  forwardWrites?: (request: ForwardedRequest) => Promise<ForwardedResponse>;
  /**
   * The secret shared by the processes serving one listener: a helper sends it with each
   * forwarded request, and the primary then keeps the helper's request id. Required with
   * `forwardWrites`; give it to the primary's app too.
   */
  forwardToken?: string;
  /**
   * The key of the hosted pages' CSRF tokens (32+ bytes). Default: random per app. Several
   * processes serving one listener must be given the same key.
   */
  csrfKey?: Uint8Array;
}

const draining = new WeakSet<FastifyInstance>();

/**
 * Starts a graceful shutdown's first phase: the app keeps serving, but every response now
 * carries `Connection: close`, so clients move off their keep-alive connections before the
 * listener closes. (`app.close()` does this too, for callers that skip the phase.)
 */
export function startDraining(app: FastifyInstance): void {
  draining.add(app);
}

const shedding = new WeakMap<FastifyInstance, { remaining: number }>();

/**
 * Asks `count` keep-alive connections to reconnect: the next `count` answers carry
 * `Connection: close` (each closes its connection, so they are `count` different ones). Used
 * when another process starts accepting on the same listener, so that clients already
 * connected spread over both.
 */
export function shedConnections(app: FastifyInstance, count: number): void {
  shedding.set(app, { remaining: Math.max(0, Math.floor(count)) });
}

/**
 * Builds the HTTP app over a Rampart instance. The app is not listening: the caller runs
 * `app.listen(…)` and, on shutdown, `app.close()` (in-flight requests finish first).
 */
export function buildHttpApp(rampart: Rampart, options: HttpAppOptions = {}): FastifyInstance {
  const trustedProxies = parseTrustedProxies(options.trustedProxies ?? []);
  const forwardToken = options.forwardToken;
  const app = fastify({
    ...(options.loginRocketDomain ? { rewriteUrl: loginRocketRewriter(options.loginRocketDomain) } : {}),
    ...loggerSettings(options.logger),
    logController: new RequestLogController(),
    childLoggerFactory: lazyChildLogger,
    // The server makes request ids; an incoming X-Request-ID header is not trusted.
    requestIdHeader: false,
    genReqId: (req) => (forwardToken === undefined ? undefined : forwardedRequestId(req.headers, forwardToken)) ?? newRequestId(),
    bodyLimit: options.bodyLimit ?? DEFAULT_BODY_LIMIT,
    // A request that already reached an open connection when shutdown began is in flight:
    // answer it rather than 503 (the listener is closed, so no new connections arrive), and
    // tell the client to close the connection afterwards (onSend hook below).
    return503OnClosing: false,
    routerOptions: {
      maxParamLength: MAX_PATH_SEGMENT,
      // Query strings are parsed by the route handler instead (parseFormEncoded): a parser
      // that throws here would escape Fastify's error handling, and malformed ones must be 400s.
      querystringParser: () => ({}),
    },
    // Bad %-encoding in the path and overlong segments, found before any route runs.
    frameworkErrors: (error, _request, reply) => {
      sendError(reply, transportError(error) ?? new CoreError("request.malformed"));
    },
    clientErrorHandler: answerClientError,
  });

  // First, so that every route below carries its documentation schema.
  const documented = documentRoutes(app);
  registerBodyParsers(app);
  app.addHook("preClose", (done) => {
    startDraining(app);
    done();
  });
  app.decorateRequest("ioTurn", undefined);
  // Synchronous and first, so that it runs in the callback of the socket read (io_turn.ts).
  app.addHook("onRequest", (request, reply, done) => {
    request.ioTurn = ioTurnOf(request);
    reply.header(REQUEST_ID_HEADER, request.id);
    // While shutting down, every answer tells the client not to reuse its connection.
    if (draining.has(app)) reply.header("connection", "close");
    else {
      const shed = shedding.get(app);
      if (shed !== undefined && shed.remaining > 0) {
        shed.remaining--;
        reply.header("connection", "close");
      }
    }
    done();
  });
  if (options.forwardWrites) {
    if (!options.forwardToken) throw new Error("forwardWrites needs a forwardToken");
    forwardWrites(app, options.forwardWrites, { bodyLimit: options.bodyLimit ?? DEFAULT_BODY_LIMIT, token: options.forwardToken });
  }
  app.setErrorHandler(handleError);
  app.setNotFoundHandler((_request, reply) => {
    sendError(reply, new CoreError("route.not_found"));
  });

  // Health: no credentials; fails (500) when the database does not answer.
  app.get("/health", async (_request, reply) => {
    await rampart.health();
    return reply.header("content-type", JSON_CONTENT_TYPE).send({ status: "ok" });
  });

  for (const route of V1_ROUTES) {
    app.route({ method: route.method, url: route.path, handler: v1Handler(rampart, route), ...(isReadOnlyOperation(route.op) ? {} : { config: WRITES }) });
  }
  // LoginRocket: the end-user API (CORS, JSONP) and the hosted pages.
  registerLoginRocketApi(app, rampart, { trustedProxies });
  registerHostedPages(app, rampart, { trustedProxies, ...(options.csrfKey ? { csrfKey: options.csrfKey } : {}) });

  registerOperationsRoutes(app, documented, { version: options.version ?? "dev", ...(options.metrics ? { metrics: options.metrics } : {}) });

  // The management API has no CORS; OPTIONS just tells which methods a path takes.
  for (const [path, methods] of methodsByPath(V1_ROUTES)) {
    const allow = [...methods, "OPTIONS"].join(", ");
    app.options(path, (_request, reply) => {
      reply.code(204).header("Allow", allow).send();
    });
  }
  return app;
}

/** The handler of one v1 route: params = query, then body, then the decoded path id. */
function v1Handler(rampart: Rampart, route: RouteSpec) {
  const operation = bindOperation(rampart, route.op);
  const idIndex = idSegmentIndex(route.path);
  return async (request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> => {
    const url = request.raw.url ?? "";
    const params: Params = { ...parseFormEncoded(rawQueryOf(url), "query"), ...(request.body as Params | undefined) };
    if (idIndex !== -1) params.id = decodePathId(rawPathSegment(url, idIndex) ?? "");
    const result = await operation(callContextFrom(request.id, request.headers, request.ioTurn), params);
    reply.code(route.status);
    if (route.status === 204) return reply.send();
    return reply.header("content-type", JSON_CONTENT_TYPE).send(result);
  };
}

function methodsByPath(routes: readonly RouteSpec[]): Map<string, Set<string>> {
  const byPath = new Map<string, Set<string>>();
  for (const { path, method } of routes) {
    const methods = byPath.get(path) ?? new Set<string>();
    methods.add(method);
    if (method === "GET") methods.add("HEAD");
    byPath.set(path, methods);
  }
  return byPath;
}

/**
 * Answers requests Node's HTTP parser rejects (before Fastify sees them) in the v1 error shape
 * and with a request id, like every other response. 408/431 keep their HTTP meaning.
 */
function answerClientError(this: FastifyInstance, err: Error & { code?: string }, socket: Socket): void {
  if (err.code === "ECONNRESET" || socket.destroyed) return;
  let status = 400;
  let error = new CoreError("request.malformed", { base: ["The request is not valid HTTP"] });
  if (err.code === "ERR_HTTP_REQUEST_TIMEOUT") {
    status = 408;
    error = new CoreError("request.malformed", { base: ["The request took too long to arrive"] });
  } else if (err.code === "HPE_HEADER_OVERFLOW") {
    status = 431;
    error = new CoreError("request.too_large", { headers: ["are larger than the limit"] });
  }
  const requestId = newRequestId();
  this.log.debug({ request_id: requestId, code: err.code }, "client error");
  const body = JSON.stringify(error.toJSON());
  if (socket.writable) {
    socket.write(
      `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\n` +
        `Content-Type: ${JSON_CONTENT_TYPE}\r\nContent-Length: ${Buffer.byteLength(body)}\r\n` +
        `${REQUEST_ID_HEADER}: ${requestId}\r\nConnection: close\r\n\r\n${body}`,
    );
  }
  socket.destroy(err);
}
