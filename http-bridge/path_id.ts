/**
 * Path ids (`/v1/users/{u}`). 2015 clients form-encode them (`a+b%40c.com`), so `+` means a
 * space; Fastify's router decodes `%XX` but keeps `+`, hence the bridge decodes the raw URL
 * segment itself.
 */
import { malformed } from "./malformed.ts";

/** Index of the `:id` segment in a route path (`/v1/users/:id` → 3), or -1. */
export function idSegmentIndex(routePath: string): number {
  return routePath.split("/").indexOf(":id");
}

/** The raw (still encoded) path segment at `index` of a request URL. */
export function rawPathSegment(url: string, index: number): string | undefined {
  const q = url.indexOf("?");
  const path = q === -1 ? url : url.slice(0, q);
  return path.split("/")[index];
}

/** Decodes a form-encoded path segment; malformed %-encoding or invalid UTF-8 → 400. */
export function decodePathId(segment: string): string {
  // Ids, usernames and JWTs rarely need decoding: skip the regex and decoder for them.
  if (!/[%+]/.test(segment)) return segment;
  try {
    return decodeURIComponent(segment.replace(/\+/g, " "));
  } catch {
    throw malformed("id", "is not validly URL-encoded");
  }
}
