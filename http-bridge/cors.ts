/**
 * CORS for the LoginRocket API. Which origins may call an app is data (the login policy's
 * `cors_origins`, read through core); this file only turns that list and the request's
 * headers into response headers. The request `Origin` is compared exactly with the stored
 * origins (core stores them serialised as browsers send them: scheme://host[:port]); it is
 * echoed only on a match, never `*`, and credentials are never allowed (the API reads no
 * cookies). Responses vary by origin, so every LoginRocket API response says `Vary: Origin`.
 */

/** How long a browser may cache a pre-flight answer (seconds). */
export const CORS_MAX_AGE = 600;

/** Methods a cross-origin page may use. */
export const CORS_METHODS: readonly string[] = ["GET", "POST"];

/** Request headers a cross-origin page may send (beyond the CORS-safelisted ones). */
export const CORS_ALLOWED_HEADERS: readonly string[] = ["Content-Type", "Accept", "Accept-Language", "Content-Language", "X-Requested-With"];

/** Response headers a cross-origin page may read (beyond the CORS-safelisted ones). */
export const CORS_EXPOSED_HEADERS: readonly string[] = ["X-Request-ID"];

/** What the request's `Origin` means for an app. */
export type OriginVerdict =
  /** No `Origin` header: not a CORS request (a server, curl, a classic `<script>`). */
  | { kind: "none" }
  /** Listed in the app's `cors_origins`. */
  | { kind: "allowed"; origin: string }
  /** Sent but not listed (also `Origin: null`). */
  | { kind: "refused"; origin: string };

/** Decides on one request's `Origin` header against an app's `cors_origins`. */
export function originVerdict(originHeader: string | string[] | undefined, allowed: readonly string[]): OriginVerdict {
  if (originHeader === undefined) return { kind: "none" };
  // Several Origin headers are not something a browser sends: refuse rather than guess.
  const origin = Array.isArray(originHeader) ? originHeader.join(", ") : originHeader;
  return allowed.includes(origin) ? { kind: "allowed", origin } : { kind: "refused", origin };
}

/** Headers for an actual (non-pre-flight) response to an allowed origin. */
export function corsHeaders(origin: string): Record<string, string> {
  return {
    "Access-Control-Allow-Origin": origin,
    "Access-Control-Expose-Headers": CORS_EXPOSED_HEADERS.join(", "),
  };
}

/** The `Vary` value of every LoginRocket API response (pre-flights add the request headers they read). */
export const VARY_ORIGIN = "Origin";

/** The `Vary` value of a pre-flight answer. */
export const VARY_PREFLIGHT = "Origin, Access-Control-Request-Method, Access-Control-Request-Headers";

/**
 * True when a pre-flight asks for a method this API serves. The requested headers are not
 * checked here: the answer lists what is allowed and the browser decides.
 */
export function preflightMethodAllowed(requestMethod: string | string[] | undefined): boolean {
  return typeof requestMethod === "string" && CORS_METHODS.includes(requestMethod.trim().toUpperCase());
}

/** Headers of a successful pre-flight answer (204) for an allowed origin. */
export function preflightHeaders(origin: string): Record<string, string> {
  return {
    "Access-Control-Allow-Origin": origin,
    "Access-Control-Allow-Methods": CORS_METHODS.join(", "),
    "Access-Control-Allow-Headers": CORS_ALLOWED_HEADERS.join(", "),
    "Access-Control-Max-Age": String(CORS_MAX_AGE),
  };
}
