/**
 * One error model for every surface (in-process, HTTP, gRPC).
 *
 * `kind` says what sort of failure it is (google.rpc names, plus three transport-level kinds
 * for bodies the HTTP bridge cannot read); `code` is a stable slug from {@link ERROR_CATALOGUE};
 * `errors` maps an attribute (or `base`) to at least one human-readable message.
 */
import { ERROR_CATALOGUE, type ErrorCode } from "./error_catalogue.ts";

/** The kinds of failure; each transport maps these to its own statuses in one table. */
export type ErrorKind =
  | "INVALID_ARGUMENT"
  | "MALFORMED"
  | "PAYLOAD_TOO_LARGE"
  | "UNSUPPORTED_MEDIA_TYPE"
  | "NOT_FOUND"
  | "UNAUTHENTICATED"
  | "PERMISSION_DENIED"
  | "FAILED_PRECONDITION"
  | "RESOURCE_EXHAUSTED"
  | "INTERNAL";

/** Attribute (or `base`) → messages. Never empty when it leaves Rampart. */
export type FieldErrors = Record<string, string[]>;

/** Rate-limit facts carried by RESOURCE_EXHAUSTED errors (seconds). */
export interface RateLimitInfo {
  /** Seconds until the caller may try again. */
  retryAfter: number;
  /** The window's allowance. */
  limit: number;
  /** Attempts left in the window (0 when throttled). */
  remaining: number;
  /** Unix seconds when the window resets. */
  reset: number;
}

/** The only error type core throws on purpose. Anything else is an internal fault. */
export class CoreError extends Error {
  readonly kind: ErrorKind;
  readonly code: ErrorCode;
  readonly errors: FieldErrors;
  readonly rateLimit: RateLimitInfo | undefined;

  constructor(code: ErrorCode, errors?: FieldErrors, rateLimit?: RateLimitInfo) {
    const entry = ERROR_CATALOGUE[code];
    const fieldErrors = errors && Object.keys(errors).length > 0 ? errors : { base: [entry.message] };
    super(firstMessage(fieldErrors));
    this.name = "CoreError";
    this.kind = entry.kind;
    this.code = code;
    this.errors = fieldErrors;
    this.rateLimit = rateLimit;
  }

  /** The JSON v1 error body. */
  toJSON(): { errors: FieldErrors; code: string } {
    return { errors: this.errors, code: this.code };
  }
}

function firstMessage(errors: FieldErrors): string {
  for (const [field, messages] of Object.entries(errors)) {
    const m = messages[0];
    if (m !== undefined) return field === "base" ? m : `${field} ${m}`;
  }
  return "error";
}

/** A validation failure on one attribute. */
export function invalid(field: string, message: string): CoreError {
  return new CoreError("validation_failed", { [field]: [message] });
}

/** Collects field errors and throws them together, so a client sees every problem at once. */
export class Problems {
  readonly errors: FieldErrors = {};
  add(field: string, message: string): void {
    (this.errors[field] ??= []).push(message);
  }
  get empty(): boolean {
    return Object.keys(this.errors).length === 0;
  }
  throwIfAny(code: ErrorCode = "validation_failed"): void {
    if (!this.empty) throw new CoreError(code, this.errors);
  }
}

/** Turns anything thrown into a CoreError; unknown faults become a masked INTERNAL error. */
export function toCoreError(err: unknown): { error: CoreError; unexpected: boolean } {
  if (err instanceof CoreError) return { error: err, unexpected: false };
  return { error: new CoreError("internal"), unexpected: true };
}
