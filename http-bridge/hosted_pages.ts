/**
 * The hosted LoginRocket pages as plain HTML: a login and a signup form that work without
 * JavaScript, with labels, autocomplete hints and a `lang`, and no external asset but the
 * app's own optional `external_css`. Everything a user or the request supplies is escaped;
 * only the app's `header` and `footer` (HTML set by realm admins) are inserted as they are,
 * and the page's Content-Security-Policy still forbids any script in them.
 */
import type { LoginRocketApp } from "@rampart/core";
import { CSRF_FIELD } from "./csrf.ts";

/** Escapes text for HTML content and double-quoted attribute values. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** The stylesheet served at `<base>/style.css` (the CSP allows no inline style). */
export const PAGE_CSS = `:root { color-scheme: light dark; font-family: system-ui, sans-serif; line-height: 1.5; }
body { margin: 0; }
main { max-width: 26rem; margin: 2rem auto; padding: 0 1rem; }
h1 { font-size: 1.5rem; }
.field { margin: 0 0 1rem; }
label { display: block; font-weight: 600; margin-bottom: .25rem; }
.hint { font-weight: normal; }
input { box-sizing: border-box; width: 100%; padding: .5rem; font: inherit; border: 1px solid #767676; border-radius: 4px; }
input:focus, button:focus, a:focus { outline: 3px solid #1a73e8; outline-offset: 2px; }
button { font: inherit; padding: .5rem 1.25rem; border: 0; border-radius: 4px; background: #1a56db; color: #fff; cursor: pointer; }
.error { border-left: 4px solid #c81e1e; padding: .5rem .75rem; background: rgba(200, 30, 30, .08); }
`;

/** The values a form re-displays after a failure (never the password). */
export interface FormValues {
  username?: string;
  email?: string;
  first_name?: string;
  last_name?: string;
}

/** What every hosted page needs to render. */
export interface PageView {
  app: LoginRocketApp;
  /** Public path prefix of the app's pages: `/lr/<sub>`, or `""` when served by host. */
  base: string;
  /** The CSRF form field value. */
  csrf: string;
  /** A failure to show above the form (plain text; escaped here). */
  error?: string;
  values?: FormValues;
}

/** The origin of an absolute URL, or undefined (core only stores absolute http(s) URLs). */
function originOf(url: string | null): string | undefined {
  if (!url) return undefined;
  try {
    const origin = new URL(url).origin;
    return origin === "null" ? undefined : origin;
  } catch {
    return undefined;
  }
}

/**
 * The Content-Security-Policy of an app's pages: nothing by default; styles from the page's
 * origin and the app's external stylesheet (and fonts from its origin); images from anywhere
 * over https (logos in admin headers); forms may post to the page itself and be redirected
 * to the app's handlers (CSP3 checks redirects of form submissions); no framing, no `<base>`.
 */
export function pageCsp(app: LoginRocketApp | undefined): string {
  const css = originOf(app?.external_css ?? null);
  const handlers = [app?.login_handler ?? null, app?.signup_handler ?? null].map(originOf).filter((o): o is string => o !== undefined);
  const formAction = ["'self'", ...new Set(handlers)];
  return [
    "default-src 'none'",
    `style-src 'self'${css ? ` ${css}` : ""}`,
    ...(css ? [`font-src ${css}`] : []),
    "img-src 'self' https: data:",
    `form-action ${formAction.join(" ")}`,
    "frame-ancestors 'none'",
    "base-uri 'none'",
  ].join("; ");
}

/** Headers on every hosted page response (pages, redirects, error pages). */
export function pageSecurityHeaders(app: LoginRocketApp | undefined): Record<string, string> {
  return {
    "Content-Security-Policy": pageCsp(app),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    // Tokens travel in URLs: no page of ours ever sends one onwards as a Referer.
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
    // The pages carry CSRF tokens and typed-in values.
    "Cache-Control": "no-store",
  };
}

interface Shell {
  app?: LoginRocketApp;
  base?: string;
  title: string;
  body: string;
}

function shell({ app, base, title, body }: Shell): string {
  const css = app?.external_css ? `\n<link rel="stylesheet" href="${escapeHtml(app.external_css)}" referrerpolicy="no-referrer">` : "";
  const styles = base !== undefined ? `\n<link rel="stylesheet" href="${escapeHtml(base)}/style.css">${css}` : "";
  const header = app?.header ? `\n<header>${app.header}</header>` : "";
  const footer = app?.footer ? `\n<footer>${app.footer}</footer>` : "";
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>${escapeHtml(title)}</title>${styles}
</head>
<body>${header}
<main>
${body}
</main>${footer}
</body>
</html>
`;
}

interface FieldSpec {
  name: keyof FormValues | "password" | "password_confirmation";
  label: string;
  type: "text" | "email" | "password";
  autocomplete: string;
  required: boolean;
  hint?: string;
}

function field(spec: FieldSpec, values: FormValues | undefined, hasError: boolean): string {
  const value = spec.type === "password" ? undefined : values?.[spec.name as keyof FormValues];
  const attrs = [
    `id="${spec.name}"`,
    `name="${spec.name}"`,
    `type="${spec.type}"`,
    `autocomplete="${spec.autocomplete}"`,
    ...(spec.type === "password" ? ['maxlength="1024"'] : ['maxlength="255"']),
    ...(spec.name === "username" || spec.type === "email" ? ['autocapitalize="none"', 'spellcheck="false"'] : []),
    ...(spec.required ? ["required"] : []),
    ...(value ? [`value="${escapeHtml(value)}"`] : []),
    ...(hasError ? ['aria-describedby="form-error"'] : []),
  ];
  const hint = spec.hint ? ` <span class="hint">${escapeHtml(spec.hint)}</span>` : "";
  return `<div class="field">
<label for="${spec.name}">${escapeHtml(spec.label)}${hint}</label>
<input ${attrs.join(" ")}>
</div>`;
}

function form(view: PageView, action: string, fields: FieldSpec[], submit: string): string {
  const hasError = view.error !== undefined;
  const error = hasError ? `<div class="error" id="form-error" role="alert"><p>${escapeHtml(view.error!)}</p></div>\n` : "";
  return `${error}<form method="post" action="${escapeHtml(action)}">
<input type="hidden" name="${CSRF_FIELD}" value="${escapeHtml(view.csrf)}">
${fields.map((f) => field(f, view.values, hasError)).join("\n")}
<button type="submit">${escapeHtml(submit)}</button>
</form>`;
}

/** The login page (`GET <base>/`). */
export function renderLoginPage(view: PageView): string {
  const { app, base } = view;
  const title = `Log in to ${app.name}`;
  // In realms whose usernames are email addresses, the one field asks for the email.
  const username: FieldSpec = app.username_is_email
    ? { name: "username", label: "Email", type: "email", autocomplete: "username", required: true }
    : { name: "username", label: "Username", type: "text", autocomplete: "username", required: true };
  const fields: FieldSpec[] = [username, { name: "password", label: "Password", type: "password", autocomplete: "current-password", required: true }];
  const signup = app.signup ? `\n<p>No account yet? <a href="${escapeHtml(base)}/signup">Sign up</a></p>` : "";
  const body = `<h1>${escapeHtml(title)}</h1>\n${form(view, `${base}/`, fields, "Log in")}${signup}`;
  return shell({ app, base, title, body });
}

/** The signup page (`GET <base>/signup`); name fields as the login_rocket provider's `name_field` says. */
export function renderSignupPage(view: PageView): string {
  const { app, base } = view;
  const title = `Sign up for ${app.name}`;
  const names: FieldSpec[] =
    app.name_field === "none"
      ? []
      : [
          { name: "first_name", label: "First name", type: "text", autocomplete: "given-name", required: app.name_field === "required" },
          { name: "last_name", label: "Last name", type: "text", autocomplete: "family-name", required: app.name_field === "required" },
        ];
  const optional = app.name_field === "optional" ? "(optional)" : undefined;
  if (optional) for (const n of names) n.hint = optional;
  // Email realms take the email as username; others need a username and may take an email.
  const identity: FieldSpec[] = app.username_is_email
    ? [{ name: "email", label: "Email", type: "email", autocomplete: "email", required: true }]
    : [
        { name: "username", label: "Username", type: "text", autocomplete: "username", required: true },
        { name: "email", label: "Email", type: "email", autocomplete: "email", required: false },
      ];
  const fields: FieldSpec[] = [
    ...names,
    ...identity,
    { name: "password", label: "Password", type: "password", autocomplete: "new-password", required: true },
    { name: "password_confirmation", label: "Confirm password", type: "password", autocomplete: "new-password", required: true },
  ];
  const login = app.login ? `\n<p>Already have an account? <a href="${escapeHtml(base)}/">Log in</a></p>` : "";
  const body = `<h1>${escapeHtml(title)}</h1>\n${form(view, `${base}/signup`, fields, "Sign up")}${login}`;
  return shell({ app, base, title, body });
}

/** A page that only says something (unknown app, signup disabled, no handler, errors). */
export function renderMessagePage(title: string, message: string, app?: LoginRocketApp, base?: string): string {
  const body = `<h1>${escapeHtml(title)}</h1>\n<p>${escapeHtml(message)}</p>`;
  return shell({ ...(app ? { app } : {}), ...(base !== undefined ? { base } : {}), title, body });
}
