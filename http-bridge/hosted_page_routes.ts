/**
 * The hosted pages' routes: `GET|POST <base>/` (login), `GET|POST <base>/signup` and
 * `GET <base>/style.css`, where `<base>` is `/lr/<subdomain>` (or the host's root, see
 * login_rocket_host.ts). A form posts (urlencoded) to its own URL; the bridge checks the
 * CSRF token, calls core, and on success answers `303 See Other` with the URL core built from
 * the app's handler (`handlerUrl`): nothing in the request can choose where the browser goes.
 * On failure the form comes back with the error and the typed-in values, never the password.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { CoreError, errorSentence, toCoreError, type LoginRocketApp, type Params, type Rampart } from "@rampart/core";
import type { TrustedProxies } from "./client_ip.ts";
import { CSRF_FIELD, createCsrfGuard } from "./csrf.ts";
import { WRITES } from "./forward.ts";
import { transportError } from "./error_reply.ts";
import { PAGE_CSS, pageSecurityHeaders, renderLoginPage, renderMessagePage, renderSignupPage, type FormValues } from "./hosted_pages.ts";
import { isSecureRequest, loginRocketContext } from "./login_rocket_context.ts";
import { publicBase } from "./login_rocket_host.ts";
import { HTTP_STATUS_BY_KIND } from "./status.ts";

const HTML_CONTENT_TYPE = "text/html; charset=utf-8";

/** Texts of the pages' own messages (tests and docs refer to them). */
export const PAGE_MESSAGES = Object.freeze({
  noApp: ["App not found", "No app is served at this address."],
  loginDisabled: ["Login is not available", "Login is not enabled for this app."],
  signupDisabled: ["Signup is not available", "Signup is not enabled for this app."],
  noHandler: [
    "Login is not set up",
    "This app has no login handler configured, so there is nowhere to send you after logging in. Please tell the app's administrator.",
  ],
  badRequest: ["Bad request", "The form could not be read. Please go back and try again."],
  internal: ["Something went wrong", "An internal error occurred; it has been logged. Please try again."],
  csrf: "This form has expired or was not sent from this page. Please try again.",
});

/** Options of {@link registerHostedPages}. */
export interface HostedPagesOptions {
  trustedProxies: TrustedProxies;
  /** The CSRF key shared by every process serving the pages (default: one of its own). */
  csrfKey?: Uint8Array;
}

type PageKind = "login" | "signup";

/** Registers the hosted login and signup pages and their stylesheet. */
export function registerHostedPages(app: FastifyInstance, rampart: Rampart, options: HostedPagesOptions): void {
  const csrf = createCsrfGuard(options.csrfKey);
  const trusted = options.trustedProxies;

  function sendHtml(reply: FastifyReply, status: number, html: string, found?: LoginRocketApp): FastifyReply {
    return reply.code(status).headers(pageSecurityHeaders(found)).header("content-type", HTML_CONTENT_TYPE).send(html);
  }

  function sendMessage(reply: FastifyReply, status: number, [title, message]: readonly string[], found?: LoginRocketApp, base?: string): FastifyReply {
    return sendHtml(reply, status, renderMessagePage(title!, message!, found, base), found);
  }

  /** The app of the request and the page's refusal, if any (unknown app, page disabled, no handler). */
  async function appFor(request: FastifyRequest, reply: FastifyReply, kind: PageKind): Promise<{ found: LoginRocketApp; base: string } | FastifyReply> {
    const subdomain = (request.params as { subdomain: string }).subdomain;
    const found = await rampart.loginRocket.app(subdomain);
    if (!found) return sendMessage(reply, 404, PAGE_MESSAGES.noApp);
    const base = publicBase(request.raw, found.subdomain);
    if (kind === "login" && !found.login) return sendMessage(reply, 404, PAGE_MESSAGES.loginDisabled, found, base);
    if (kind === "signup" && !found.signup) return sendMessage(reply, 404, PAGE_MESSAGES.signupDisabled, found, base);
    const handler = kind === "login" ? found.login_handler : (found.signup_handler ?? found.login_handler);
    if (!handler) return sendMessage(reply, 503, PAGE_MESSAGES.noHandler, found, base);
    return { found, base };
  }

  /** Renders the form with a CSRF field, setting the cookie when the browser has none yet. */
  function renderForm(
    request: FastifyRequest,
    reply: FastifyReply,
    kind: PageKind,
    found: LoginRocketApp,
    base: string,
    status: number,
    error?: string,
    values?: FormValues,
  ) {
    const secure = isSecureRequest(request, trusted);
    let nonce = csrf.nonceFrom(request.headers.cookie, secure);
    if (nonce === undefined) {
      nonce = csrf.newNonce();
      reply.header("Set-Cookie", csrf.cookie(nonce, secure, `${base}/`));
    }
    const view = { app: found, base, csrf: csrf.fieldFor(nonce, found.subdomain), ...(error !== undefined ? { error } : {}), ...(values ? { values } : {}) };
    return sendHtml(reply, status, kind === "login" ? renderLoginPage(view) : renderSignupPage(view), found);
  }

  function showPage(kind: PageKind) {
    return async (request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> => {
      const resolved = await appFor(request, reply, kind);
      if (!("found" in resolved)) return resolved;
      return renderForm(request, reply, kind, resolved.found, resolved.base, 200);
    };
  }

  function submitPage(kind: PageKind) {
    return async (request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> => {
      const resolved = await appFor(request, reply, kind);
      if (!("found" in resolved)) return resolved;
      const { found, base } = resolved;
      // Only the form's own fields are read: a `redirect`, `url` or `request` sent along is ignored.
      const body = (request.body as Params | undefined) ?? {};
      const fields = kind === "login" ? ["username", "password"] : signupFields(found);
      const params: Params = { subdomain: found.subdomain };
      for (const name of fields) if (body[name] !== undefined) params[name] = body[name];
      const values = redisplayed(params);

      const nonce = csrf.nonceFrom(request.headers.cookie, isSecureRequest(request, trusted));
      if (!csrf.verify(nonce, body[CSRF_FIELD], found.subdomain)) {
        return renderForm(request, reply, kind, found, base, 403, PAGE_MESSAGES.csrf, values);
      }
      let url: string | null;
      try {
        url = (await rampart.loginRocket[kind](loginRocketContext(request, trusted), params)).url;
      } catch (err) {
        const { error, unexpected } = toCoreError(err);
        if (unexpected || error.kind === "INTERNAL") throw err;
        return renderForm(request, reply, kind, found, base, 200, errorSentence(error) || error.message, values);
      }
      // The handler was removed between the check above and the call: the user is logged in but has nowhere to go.
      if (!url) return sendMessage(reply, 503, PAGE_MESSAGES.noHandler, found, base);
      // Serialised as a browser would parse it: core keeps handler URLs as admins typed them,
      // and a header must not carry raw spaces, controls or non-ASCII.
      return reply.code(303).headers(pageSecurityHeaders(found)).header("Location", new URL(url).href).send();
    };
  }

  /** Body errors (400/413/415) and faults, as HTML pages. */
  function errorHandler(err: unknown, request: FastifyRequest, reply: FastifyReply): FastifyReply {
    const transport = transportError(err) ?? (err instanceof CoreError && err.kind !== "INTERNAL" ? err : undefined);
    if (transport) {
      const status = transport.kind === "NOT_FOUND" ? 400 : HTTP_STATUS_BY_KIND[transport.kind];
      return sendMessage(reply, status, PAGE_MESSAGES.badRequest);
    }
    request.log.error({ err }, "unexpected error");
    return sendMessage(reply, 500, PAGE_MESSAGES.internal);
  }

  async function stylesheet(request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
    const subdomain = (request.params as { subdomain: string }).subdomain;
    if (!(await rampart.loginRocket.app(subdomain))) return sendMessage(reply, 404, PAGE_MESSAGES.noApp);
    return reply
      .header("content-type", "text/css; charset=utf-8")
      .header("X-Content-Type-Options", "nosniff")
      .header("Cache-Control", "public, max-age=3600")
      .send(PAGE_CSS);
  }

  const routes: [string, PageKind][] = [
    ["/lr/:subdomain", "login"],
    ["/lr/:subdomain/", "login"],
    ["/lr/:subdomain/signup", "signup"],
  ];
  for (const [url, kind] of routes) {
    app.route({ method: "GET", url, errorHandler, handler: showPage(kind) });
    app.route({ method: "POST", url, config: WRITES, errorHandler, handler: submitPage(kind) });
  }
  app.route({ method: "GET", url: "/lr/:subdomain/style.css", errorHandler, handler: stylesheet });
}

/** The signup form's fields for an app (names only when its provider asks for them). */
function signupFields(found: LoginRocketApp): string[] {
  const names = found.name_field === "none" ? [] : ["first_name", "last_name"];
  return [...names, "username", "email", "password", "password_confirmation"];
}

/** The values a failed form shows again: strings only, never passwords. */
function redisplayed(params: Params): FormValues {
  const values: FormValues = {};
  for (const key of ["username", "email", "first_name", "last_name"] as const) {
    const v = params[key];
    if (typeof v === "string") values[key] = v;
  }
  return values;
}
