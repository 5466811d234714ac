/**
 * The one table that turns a core error kind into a gRPC status code (grpc.md "Errors").
 * The HTTP bridge has its own table; a test keeps both in step with the catalogue.
 */
import { status } from "@grpc/grpc-js";
import type { ErrorKind } from "@rampart/core";

/** gRPC status code for each core error kind. */
export const GRPC_STATUS_BY_KIND: Readonly<Record<ErrorKind, status>> = Object.freeze({
  INVALID_ARGUMENT: status.INVALID_ARGUMENT,
  // The three HTTP body kinds cannot happen over gRPC (protobuf decoding and the message
  // size limit come first); should core raise one, it is still the client's fault.
  MALFORMED: status.INVALID_ARGUMENT,
  PAYLOAD_TOO_LARGE: status.INVALID_ARGUMENT,
  UNSUPPORTED_MEDIA_TYPE: status.INVALID_ARGUMENT,
  NOT_FOUND: status.NOT_FOUND,
  UNAUTHENTICATED: status.UNAUTHENTICATED,
  PERMISSION_DENIED: status.PERMISSION_DENIED,
  FAILED_PRECONDITION: status.FAILED_PRECONDITION,
  RESOURCE_EXHAUSTED: status.RESOURCE_EXHAUSTED,
  INTERNAL: status.INTERNAL,
});

/** Metadata keys Rampart sets on responses. */
export const METADATA = Object.freeze({
  /** The call's `rq_…` id: initial metadata of every response, trailers of every error. */
  requestId: "x-request-id",
  /** The error slug (`user.not_found`), the v1 JSON `code`: trailers of every error. */
  errorCode: "x-error-code",
  /** Binary google.rpc.Status with the error details (trailers). */
  statusDetails: "grpc-status-details-bin",
  /** Whole seconds to wait before retrying (trailers of RESOURCE_EXHAUSTED). */
  retryAfter: "retry-after",
  rateLimitLimit: "x-ratelimit-limit",
  rateLimitRemaining: "x-ratelimit-remaining",
  rateLimitReset: "x-ratelimit-reset",
});
