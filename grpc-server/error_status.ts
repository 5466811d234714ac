/**
 * Turning a CoreError into the gRPC status a client sees: the code from the kind table, the
 * error's first message as the status message, and trailers with the slug and the details.
 */
import { Metadata, type StatusObject } from "@grpc/grpc-js";
import type { CoreError, FieldErrors } from "@rampart/core";
import type { BadRequest } from "./gen/google/rpc/error_details.ts";
import { GRPC_STATUS_BY_KIND, METADATA } from "./status.ts";
import { type ErrorDetails, encodeStatusDetails } from "./status_details.ts";

/** The `domain` of Rampart's google.rpc.ErrorInfo details. */
export const ERROR_DOMAIN = "rampart";

/**
 * The status for `error`. Trailers: `x-error-code` (the slug), `grpc-status-details-bin`
 * (google.rpc.Status with ErrorInfo; BadRequest listing every field message for
 * INVALID_ARGUMENT, and for any error whose messages do not fit the status message alone;
 * RetryInfo when throttled) and, when throttled, `retry-after` and `x-ratelimit-*` like the
 * HTTP headers. The caller adds `x-request-id`.
 */
export function errorStatus(error: CoreError): StatusObject {
  const code = GRPC_STATUS_BY_KIND[error.kind];
  const metadata = new Metadata();
  metadata.set(METADATA.errorCode, error.code);

  const details: ErrorDetails = { errorInfo: { reason: error.code, domain: ERROR_DOMAIN, metadata: {} } };
  if (error.kind === "INVALID_ARGUMENT" || !onlyOneBaseMessage(error.errors)) details.badRequest = badRequest(error.errors);
  const limit = error.kind === "RESOURCE_EXHAUSTED" ? error.rateLimit : undefined;
  if (limit) {
    // Whole seconds, rounded up: a retry at the advertised time is never still refused.
    const retryAfter = Math.max(1, Math.ceil(limit.retryAfter));
    details.retryInfo = { retry_delay: { seconds: retryAfter, nanos: 0 } };
    metadata.set(METADATA.retryAfter, String(retryAfter));
    metadata.set(METADATA.rateLimitLimit, String(limit.limit));
    metadata.set(METADATA.rateLimitRemaining, String(limit.remaining));
    metadata.set(METADATA.rateLimitReset, String(Math.ceil(limit.reset)));
  }
  metadata.set(METADATA.statusDetails, encodeStatusDetails(code, error.message, details));
  return { code, details: error.message, metadata };
}

/** One violation per message, in the order of the v1 `errors` object. */
function badRequest(errors: FieldErrors): BadRequest {
  return {
    field_violations: Object.entries(errors).flatMap(([field, messages]) => messages.map((description) => ({ field, description }))),
  };
}

// CoreError's message is its first message, so `{base: [m]}` travels whole in the status
// message; anything more needs the BadRequest list to reach the client intact.
function onlyOneBaseMessage(errors: FieldErrors): boolean {
  const fields = Object.keys(errors);
  return fields.length === 1 && fields[0] === "base" && errors.base!.length === 1;
}
