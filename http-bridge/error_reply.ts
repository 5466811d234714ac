/**
 * Turning failures into v1 error responses: `{"errors": {…}, "code": "…"}` with the status of
 * the error's kind. Every error path of the app (core errors, body parsing, bad URLs, unknown
 * routes, unexpected faults) ends in {@link sendError}.
 */
import type { FastifyReply, FastifyRequest } from "fastify";
import { CoreError, toCoreError } from "@rampart/core";
import { HTTP_STATUS_BY_KIND } from "./status.ts";

/** The media type of every JSON response. */
export const JSON_CONTENT_TYPE = "application/json; charset=utf-8";

/** The header carrying the request id on every response. */
export const REQUEST_ID_HEADER = "X-Request-ID";

/** Messages for Fastify's own request errors; their texts name Fastify, so they are never sent. */
const FASTIFY_MESSAGES: Record<string, [field: string, message: string]> = {
  FST_ERR_BAD_URL: ["path", "is not validly URL-encoded"],
  FST_ERR_MAX_PARAM_LENGTH: ["path", "has a segment longer than the limit"],
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: ["body", "does not match its Content-Length"],
  FST_ERR_CTP_EMPTY_JSON_BODY: ["body", "is empty"],
  FST_ERR_CTP_INVALID_JSON_BODY: ["body", "is not valid JSON"],
};

/**
 * The CoreError for a client error raised by Fastify or Node while reading the request
 * (`FST_ERR_CTP_*`, `FST_ERR_BAD_URL`, an aborted body…): these carry a 4xx `statusCode`.
 * Returns `undefined` for anything else.
 */
export function transportError(err: unknown): CoreError | undefined {
  if (err instanceof CoreError || typeof err !== "object" || err === null) return undefined;
  const { statusCode, code } = err as { statusCode?: unknown; code?: unknown };
  if (typeof statusCode !== "number" || statusCode < 400 || statusCode > 499) return undefined;
  if (statusCode === 413) return new CoreError("request.too_large");
  if (statusCode === 415) return new CoreError("request.unsupported_media_type");
  const known = typeof code === "string" ? FASTIFY_MESSAGES[code] : undefined;
  return new CoreError("request.malformed", known ? { [known[0]]: [known[1]] } : undefined);
}

/** Sends `error` as a v1 error response (status from the kind table, rate-limit headers on 429). */
export function sendError(reply: FastifyReply, error: CoreError): FastifyReply {
  reply.code(HTTP_STATUS_BY_KIND[error.kind]);
  reply.header(REQUEST_ID_HEADER, reply.request.id);
  reply.header("content-type", JSON_CONTENT_TYPE);
  const limit = error.kind === "RESOURCE_EXHAUSTED" ? error.rateLimit : undefined;
  if (limit) {
    // Retry-After takes whole seconds; rounding up never invites a retry that is still refused.
    reply.header("Retry-After", String(Math.max(1, Math.ceil(limit.retryAfter))));
    reply.header("X-Ratelimit-Limit", String(limit.limit));
    reply.header("X-Ratelimit-Remaining", String(limit.remaining));
    reply.header("X-Ratelimit-Reset", String(Math.ceil(limit.reset)));
  }
  // A plain object, not the CoreError: Fastify treats an Error payload as a new failure.
  return reply.send(error.toJSON());
}

/**
 * The app's error handler. Expected errors are answered as they are; anything else is logged
 * (the log line carries the request id) and answered with the generic `internal` body, which
 * holds no stack, SQL, path or library name.
 */
export function handleError(err: unknown, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  let error = transportError(err);
  if (error === undefined) {
    const converted = toCoreError(err);
    error = converted.error;
    if (converted.unexpected || error.kind === "INTERNAL") request.log.error({ err }, "unexpected error");
  }
  // A body sent to an unknown route fails parsing before the 404 handler runs; the missing
  // route is the more useful answer.
  if (request.is404 && error.kind !== "INTERNAL") error = new CoreError("route.not_found");
  return sendError(reply, error);
}
