/**
 * The LoginRocket end-user API: `/lr/<subdomain>/v1/login|signup|logout` (also reached by
 * host, see login_rocket_host.ts). POST with a JSON or form body answers JSON (AJAX, CORS);
 * GET with `callback=<name>` answers JSONP. What core refuses (wrong password, throttling,
 * signup disabled…) is HTTP 200 `{"error": "<sentence>"}`, because JSONP cannot see statuses.
 * Transport failures keep their status on POST (400 bad body, 403 refused origin, 404 unknown
 * app, 413, 415) and still carry `{"error"}`. Which origins may call, and every login rule,
 * come from core; this file only moves data between HTTP and core.
 */
import { WRITES } from "./forward.ts";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { CoreError, errorSentence, toCoreError, type LoginRocketApp, type Params, type Rampart } from "@rampart/core";
import type { TrustedProxies } from "./client_ip.ts";
import { VARY_ORIGIN, VARY_PREFLIGHT, corsHeaders, originVerdict, preflightHeaders, preflightMethodAllowed } from "./cors.ts";
import { JSON_CONTENT_TYPE, transportError } from "./error_reply.ts";
import { HTTP_STATUS_BY_KIND } from "./status.ts";
import { parseFormEncoded, rawQueryOf } from "./form_params.ts";
import { JSONP_CONTENT_TYPE, MAX_CALLBACK_LENGTH, isValidCallback, jsonpBody } from "./jsonp.ts";
import { loginRocketContext } from "./login_rocket_context.ts";

/** The three end-user methods. */
export const LOGIN_ROCKET_METHODS = ["login", "signup", "logout"] as const;

/** One end-user method name. */
export type LoginRocketMethod = (typeof LOGIN_ROCKET_METHODS)[number];

/** Query parameters that belong to JSONP itself, not to the call (`_` is jQuery's cache-buster). */
const JSONP_PARAMS: ReadonlySet<string> = new Set(["callback", "_"]);

/** Messages of the API's own refusals. */
export const LOGIN_ROCKET_MESSAGES = Object.freeze({
  noApp: "No app is served here",
  badCallback: `callback must be a JavaScript function name (letters, digits, _ and $, dotted paths allowed) of at most ${MAX_CALLBACK_LENGTH} characters`,
  getNeedsCallback: "GET requests are JSONP and need a callback parameter; send a POST for JSON",
  originRefused: "This origin is not allowed to call this app's LoginRocket API",
  preflightMethod: "Only GET and POST may be used across origins",
  internal: new CoreError("internal").message,
});

/** What the hook found out about a request before its body was read. */
interface Resolved {
  app?: LoginRocketApp;
  /** The JSONP callback (GET only). */
  callback?: string;
  /** The parsed query string (GET only). */
  query?: Params;
}

/** Options of {@link registerLoginRocketApi}. */
export interface LoginRocketApiOptions {
  trustedProxies: TrustedProxies;
}

/** Registers the LoginRocket API routes (GET, POST and OPTIONS for each method). */
export function registerLoginRocketApi(app: FastifyInstance, rampart: Rampart, options: LoginRocketApiOptions): void {
  const resolved = new WeakMap<FastifyRequest, Resolved>();
  const stateOf = (request: FastifyRequest): Resolved => {
    let state = resolved.get(request);
    if (!state) resolved.set(request, (state = {}));
    return state;
  };

  /** Sends `body` as JSONP when the request is JSONP with a valid callback (always 200), else as JSON with `status`. */
  function answer(request: FastifyRequest, reply: FastifyReply, status: number, body: unknown): FastifyReply {
    const callback = resolved.get(request)?.callback;
    if (callback !== undefined) {
      return reply.code(200).header("content-type", JSONP_CONTENT_TYPE).send(jsonpBody(callback, body));
    }
    return reply.code(status).header("content-type", JSON_CONTENT_TYPE).send(JSON.stringify(body));
  }

  /** Runs before the body is read: JSONP checks, the app, CORS. Answers early on refusal. */
  async function resolve(request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply | undefined> {
    reply.header("Vary", request.method === "OPTIONS" ? VARY_PREFLIGHT : VARY_ORIGIN);
    reply.header("X-Content-Type-Options", "nosniff");
    reply.header("Cache-Control", "no-store");
    const state = stateOf(request);
    if (request.method === "GET") {
      let query: Params;
      try {
        query = parseFormEncoded(rawQueryOf(request.raw.url ?? ""), "query");
      } catch (err) {
        return answer(request, reply, 400, { error: err instanceof CoreError ? errorSentence(err) : LOGIN_ROCKET_MESSAGES.internal });
      }
      if (query.callback === undefined) return answer(request, reply, 400, { error: LOGIN_ROCKET_MESSAGES.getNeedsCallback });
      if (!isValidCallback(query.callback)) return answer(request, reply, 400, { error: LOGIN_ROCKET_MESSAGES.badCallback });
      state.callback = query.callback;
      state.query = query;
    }
    const subdomain = (request.params as { subdomain: string }).subdomain;
    const found = await rampart.loginRocket.app(subdomain);
    if (!found) return answer(request, reply, 404, { error: LOGIN_ROCKET_MESSAGES.noApp });
    state.app = found;

    const verdict = originVerdict(request.headers.origin, found.cors_origins);
    if (verdict.kind === "refused") return answer(request, reply, 403, { error: LOGIN_ROCKET_MESSAGES.originRefused });
    if (verdict.kind === "allowed") reply.headers(corsHeaders(verdict.origin));
    return undefined;
  }

  /** A pre-flight: 204 with the CORS answer for an allowed origin (refused origins never get here). */
  function preflight(request: FastifyRequest, reply: FastifyReply): FastifyReply {
    const origin = request.headers.origin;
    if (typeof origin !== "string") return reply.code(204).header("Allow", "GET, POST, OPTIONS").send();
    if (!preflightMethodAllowed(request.headers["access-control-request-method"])) {
      return answer(request, reply, 403, { error: LOGIN_ROCKET_MESSAGES.preflightMethod });
    }
    return reply.code(204).headers(preflightHeaders(origin)).send();
  }

  function handler(method: LoginRocketMethod) {
    return async (request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> => {
      const state = stateOf(request);
      const params: Params = {};
      if (request.method === "GET") {
        for (const [key, value] of Object.entries(state.query ?? {})) if (!JSONP_PARAMS.has(key)) params[key] = value;
      } else {
        // A POST reads its body only; a query string (and any callback in it) is ignored.
        Object.assign(params, request.body as Params | undefined);
      }
      params.subdomain = state.app!.subdomain;
      const ctx = loginRocketContext(request, options.trustedProxies);
      try {
        const result = await rampart.loginRocket[method](ctx, params);
        return answer(request, reply, 200, result);
      } catch (err) {
        return answerError(request, reply, err);
      }
    };
  }

  /** Core's refusals → 200 `{"error"}`; transport errors keep their status; faults are logged. */
  function answerError(request: FastifyRequest, reply: FastifyReply, err: unknown): FastifyReply {
    const transport = transportError(err);
    if (transport) return answer(request, reply, HTTP_STATUS_BY_KIND[transport.kind], { error: errorSentence(transport) });
    const { error, unexpected } = toCoreError(err);
    if (unexpected || error.kind === "INTERNAL") {
      request.log.error({ err }, "unexpected error");
      return answer(request, reply, 500, { error: LOGIN_ROCKET_MESSAGES.internal });
    }
    // Errors raised while reading the body (bad JSON, bad form encoding) are the client's.
    if (error.kind === "MALFORMED" || error.kind === "PAYLOAD_TOO_LARGE" || error.kind === "UNSUPPORTED_MEDIA_TYPE") {
      return answer(request, reply, HTTP_STATUS_BY_KIND[error.kind], { error: errorSentence(error) || error.message });
    }
    return answer(request, reply, 200, { error: errorSentence(error) || error.message });
  }

  const errorHandler = (err: unknown, request: FastifyRequest, reply: FastifyReply): FastifyReply => answerError(request, reply, err);

  for (const method of LOGIN_ROCKET_METHODS) {
    const url = `/lr/:subdomain/v1/${method}`;
    // Logins, signups and logouts write, by GET (JSONP) as by POST.
    app.route({ method: "GET", url, exposeHeadRoute: false, config: WRITES, onRequest: resolve, errorHandler, handler: handler(method) });
    app.route({ method: "POST", url, config: WRITES, onRequest: resolve, errorHandler, handler: handler(method) });
    app.route({ method: "OPTIONS", url, onRequest: resolve, errorHandler, handler: preflight });
  }
}
