/**
 * Forwarding writes between processes that serve one listener. A helper process answers the
 * requests that only read (management GETs, key checks, hosted pages' forms, docs) itself,
 * and hands every request that may write to the primary, which runs it through its own app
 * (Fastify's `inject`): all writes are then made by one process, in one group commit, and
 * no two processes ever wait on each other for SQLite's write lock.
 *
 * Routes that may write are marked where they are registered, with {@link WRITES}.
 */
import { timingSafeEqual } from "node:crypto";
import type { IncomingHttpHeaders } from "node:http";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { CoreError } from "@rampart/core";

/** Route `config` marking a route whose requests may write (forwarded by helpers). */
export const WRITES = Object.freeze({ writes: true });

/** A request as a helper received it. */
export interface ForwardedRequest {
  method: string;
  /** Path and query string, as received (before any rewrite). */
  url: string;
  headers: IncomingHttpHeaders;
  body: Uint8Array;
  /** The client's address as the helper's socket saw it (trusted-proxy rules apply to it). */
  remoteAddress: string;
}

/** The primary's answer to a {@link ForwardedRequest}. */
export interface ForwardedResponse {
  status: number;
  headers: Record<string, string | string[]>;
  body: Uint8Array;
}

/**
 * Carries `<token> <request id>` from a helper to the primary, so that one request has one
 * id in both processes' logs, in the X-Request-ID answer and in the events it records. Only
 * believed with the token both processes were given (clients' X-Request-IDs never are).
 */
const FORWARDED_HEADER = "x-rampart-forwarded";

const forwarded = new WeakSet<FastifyRequest>();

/** True for a request a helper handed to the primary (the primary observes its metrics). */
export function wasForwarded(request: FastifyRequest): boolean {
  return forwarded.has(request);
}

/** The request id a helper sent along with `token`, or undefined. */
export function forwardedRequestId(headers: IncomingHttpHeaders, token: string): string | undefined {
  const value = headers[FORWARDED_HEADER];
  if (typeof value !== "string") return undefined;
  const space = value.indexOf(" ");
  const given = Buffer.from(value.slice(0, space));
  const expected = Buffer.from(token);
  if (space === -1 || given.length !== expected.length || !timingSafeEqual(given, expected)) return undefined;
  const id = value.slice(space + 1);
  return /^rq_[0-9A-Za-z]{22}$/.test(id) ? id : undefined;
}

/** Headers that describe one connection or one message framing, never forwarded. */
const HOP_BY_HOP = new Set(["connection", "keep-alive", "transfer-encoding", "content-length", "upgrade", "proxy-connection", "te", "trailer"]);

function withoutHopByHop(headers: Record<string, unknown>): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined || HOP_BY_HOP.has(name)) continue;
    out[name] = Array.isArray(value) ? value.map(String) : String(value);
  }
  return out;
}

async function readBody(request: FastifyRequest, limit: number): Promise<Uint8Array> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request.raw as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) throw new CoreError("request.too_large", { body: [`is larger than ${limit} bytes`] });
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

/**
 * In a helper: requests to routes marked {@link WRITES} are sent to `forward` and its answer
 * is sent back as is. The primary takes this request's id (see {@link forwardedRequestId}).
 */
export function forwardWrites(
  app: FastifyInstance,
  forward: (request: ForwardedRequest) => Promise<ForwardedResponse>,
  options: { bodyLimit: number; token: string },
): void {
  const answerFromPrimary = async (request: FastifyRequest, reply: FastifyReply): Promise<void> => {
    const answer = await forward({
      method: request.method,
      // As received: the primary applies its own rewrites (LoginRocket host routing) again.
      url: request.originalUrl,
      headers: { ...withoutHopByHop(request.raw.headers), [FORWARDED_HEADER]: `${options.token} ${request.id}` },
      body: await readBody(request, options.bodyLimit),
      remoteAddress: request.socket.remoteAddress ?? "",
    });
    reply.code(answer.status).headers(answer.headers);
    reply.send(Buffer.from(answer.body));
  };
  // A callback hook, not an async one: the reads a helper answers itself (most of what it
  // serves) pass without a promise and a microtask. A forwarded request is answered from the
  // hook, which then never calls `done`; a failure goes to the error handler through `done`.
  app.addHook("onRequest", (request, reply, done) => {
    if ((request.routeOptions.config as { writes?: boolean } | undefined)?.writes !== true) return done();
    forwarded.add(request);
    answerFromPrimary(request, reply).then(undefined, done);
  });
}

/** In the primary: runs a forwarded request through `app`. */
export async function answerForwarded(app: FastifyInstance, request: ForwardedRequest): Promise<ForwardedResponse> {
  const res = await app.inject({
    method: request.method as "GET",
    url: request.url,
    headers: request.headers as Record<string, string>,
    payload: Buffer.from(request.body),
    remoteAddress: request.remoteAddress,
  });
  return { status: res.statusCode, headers: withoutHopByHop(res.headers), body: res.rawPayload };
}
