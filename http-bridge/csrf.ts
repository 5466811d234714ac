/**
 * CSRF protection for the hosted pages: a signed double-submit token. The browser holds a
 * random nonce in an HttpOnly, SameSite=Strict cookie; the form carries
 * HMAC-SHA256(key, subdomain + nonce) in a hidden field. A post is accepted only when the
 * field matches the cookie (compared in constant time). Another site can neither read the
 * field nor send the cookie; binding the field to the app's subdomain keeps a token of one
 * app from serving another. The key is random per process: a restart turns forms that are
 * open in browsers into a friendly "please try again".
 */
import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";

/** Cookie name on plain HTTP (scoped to the app's path). */
export const CSRF_COOKIE = "rampart_csrf";
/** Cookie name on HTTPS: the `__Host-` prefix stops sibling subdomains from planting one. */
export const CSRF_COOKIE_SECURE = "__Host-rampart_csrf";
/** The hidden form field. */
export const CSRF_FIELD = "csrf_token";

/** 32 random bytes, base64url without padding. */
const NONCE = /^[A-Za-z0-9_-]{43}$/;

/** Issues and checks tokens with one random key. */
export interface CsrfGuard {
  /** A fresh nonce for a browser that sent none (or a malformed one). */
  newNonce(): string;
  /** The nonce in a `Cookie` header, if well-formed; `secure` picks the cookie name. */
  nonceFrom(cookieHeader: string | undefined, secure: boolean): string | undefined;
  /** The form field value for `nonce` on the app `subdomain`. */
  fieldFor(nonce: string, subdomain: string): string;
  /** True when `field` was issued for `nonce` on `subdomain`. */
  verify(nonce: string | undefined, field: unknown, subdomain: string): boolean;
  /** The `Set-Cookie` value carrying `nonce`; `path` is the app's base path with a trailing slash. */
  cookie(nonce: string, secure: boolean, path: string): string;
}

/**
 * A guard with `key` (32+ bytes), or a fresh random key (one per app instance). Processes
 * serving the same listener must share one key: a form issued by one may be posted to another.
 */
export function createCsrfGuard(key: Uint8Array = randomBytes(32)): CsrfGuard {
  if (key.length < 32) throw new Error("the CSRF key must be at least 32 bytes");
  const mac = (nonce: string, subdomain: string): Buffer => createHmac("sha256", key).update(`csrf\n${subdomain}\n${nonce}`).digest();
  return {
    newNonce: () => randomBytes(32).toString("base64url"),
    nonceFrom(cookieHeader, secure) {
      const value = cookieValue(cookieHeader, secure ? CSRF_COOKIE_SECURE : CSRF_COOKIE);
      return value !== undefined && NONCE.test(value) ? value : undefined;
    },
    fieldFor: (nonce, subdomain) => mac(nonce, subdomain).toString("base64url"),
    verify(nonce, field, subdomain) {
      if (nonce === undefined || typeof field !== "string" || !NONCE.test(field)) return false;
      const given = Buffer.from(field, "base64url");
      const expected = mac(nonce, subdomain);
      return given.length === expected.length && timingSafeEqual(given, expected);
    },
    cookie(nonce, secure, path) {
      // `__Host-` demands Secure and Path=/; on plain HTTP the cookie is kept to the app's path.
      if (secure) return `${CSRF_COOKIE_SECURE}=${nonce}; Path=/; Secure; HttpOnly; SameSite=Strict`;
      return `${CSRF_COOKIE}=${nonce}; Path=${path}; HttpOnly; SameSite=Strict`;
    },
  };
}

/** The first value of cookie `name` in a `Cookie` header. */
export function cookieValue(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(";")) {
    const eq = part.indexOf("=");
    if (eq === -1) continue;
    if (part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}
