/**
 * The one table that turns a core error kind into an HTTP status (http-v1.md §2.5).
 * The gRPC server has its own table; a test keeps both in step with the catalogue.
 */
import type { ErrorKind } from "@rampart/core";

/** HTTP status for each core error kind. One status per kind, so the table can be inverted. */
export const HTTP_STATUS_BY_KIND: Readonly<Record<ErrorKind, number>> = Object.freeze({
  INVALID_ARGUMENT: 422,
  MALFORMED: 400,
  PAYLOAD_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  NOT_FOUND: 404,
  UNAUTHENTICATED: 401,
  PERMISSION_DENIED: 403,
  FAILED_PRECONDITION: 409,
  RESOURCE_EXHAUSTED: 429,
  INTERNAL: 500,
});

const KIND_BY_STATUS: ReadonlyMap<number, ErrorKind> = new Map(
  (Object.entries(HTTP_STATUS_BY_KIND) as [ErrorKind, number][]).map(([kind, status]) => [status, kind]),
);

/**
 * The core error kind an HTTP client can recover from a status (the inverse of
 * {@link HTTP_STATUS_BY_KIND}); `undefined` for statuses outside the table.
 */
export function kindForHttpStatus(status: number): ErrorKind | undefined {
  return KIND_BY_STATUS.get(status);
}
