/**
 * LoginRocket: the end-user login, signup and logout API of a login policy (no management
 * key; the realm is the policy's). Failures are CoreErrors like everywhere else; the HTTP
 * transport turns them into `{"error": "…"}` with {@link errorSentence}.
 */
import type { LoginRocketApp, LoginRocketContext, LoginRocketOperations } from "./api.ts";
import type { Params } from "./context.ts";
import { loginRocketSettings } from "./auth_providers.ts";
import { CoreError, Problems } from "./errors.ts";
import { writeEvent } from "./events.ts";
import { type LoginName, passwordLogin } from "./login.ts";
import { type LoginPolicyRow, policyBySubdomain } from "./login_policies.ts";
import { rawString, rejectUnknownParams } from "./params.ts";
import { MAX_PASSWORD } from "./passwords.ts";
import { cachedRealm, type RealmRow } from "./realms.ts";
import { readRequestInfo, type RequestInfo } from "./request_info.ts";
import type { Runtime } from "./runtime.ts";
import { seconds } from "./runtime.ts";
import { findSession, startSession } from "./sessions.ts";
import { signLoginToken } from "./tokens.ts";
import { insertUser, readUserAttributes } from "./users.ts";
import { MEMBERSHIP_COUNT, type UserRow } from "./user_json.ts";

const SIGNUP_FIELDS = new Set(["username", "email", "password", "password_confirmation", "first_name", "last_name"]);

/** `handler?token=…` (or `&token=…` when the handler has a query); null without a handler. */
export function handlerUrl(handler: string | null, token: string): string | null {
  if (!handler) return null;
  return `${handler}${handler.includes("?") ? "&" : "?"}token=${encodeURIComponent(token)}`;
}

/** One sentence for an end user from a CoreError's field messages ("Username has already been taken"). */
export function errorSentence(err: CoreError): string {
  const parts: string[] = [];
  for (const [field, messages] of Object.entries(err.errors)) {
    for (const m of messages) {
      if (field === "base") parts.push(m);
      else {
        const label = field.replace(/_/g, " ");
        parts.push(`${label.charAt(0).toUpperCase()}${label.slice(1)} ${m}`);
      }
    }
  }
  return parts.join("; ");
}

export function loginRocketOperations(rt: Runtime): LoginRocketOperations {
  /** The policy and realm of `params.subdomain`; an unknown app is a 404. */
  function appOf(params: Params): { policy: LoginPolicyRow; realm: RealmRow } {
    const sub = params.subdomain;
    const policy = typeof sub === "string" ? policyBySubdomain(rt.db, sub.toLowerCase()) : undefined;
    if (!policy) throw new CoreError("login_policy.not_found", { base: ["No app is served here"] });
    return { policy, realm: cachedRealm(rt, policy.realm_id) };
  }

  /**
   * The connection's request info, or the caller's own (`request`, or the deprecated top-level
   * `ip`/`client`) when the call carries credentials that hold the `write` permission.
   */
  async function requestOf(ctx: LoginRocketContext, params: Params): Promise<RequestInfo> {
    const givesOwn = params.request !== undefined || params.ip !== undefined || params.client !== undefined;
    const { apiKey, bearer, trusted } = ctx.credentials;
    if (!givesOwn || (!apiKey && !bearer && !trusted)) return ctx.connection;
    await rt.authorize(ctx, "write");
    return readRequestInfo(params);
  }

  function readName(params: Params, p: Problems): LoginName | undefined {
    const username = params.username;
    const email = params.email;
    if (typeof username === "string" && username !== "") return { u: username };
    if (typeof email === "string" && email !== "") return { email };
    if ((username !== undefined && typeof username !== "string") || (email !== undefined && typeof email !== "string")) p.add("username", "must be a string");
    else p.add("username", "can't be blank");
    return undefined;
  }

  return {
    async app(subdomain): Promise<LoginRocketApp | undefined> {
      const policy = policyBySubdomain(rt.db, subdomain.toLowerCase());
      if (!policy) return undefined;
      const settings = loginRocketSettings(rt.db, policy.realm_id);
      const realm = cachedRealm(rt, policy.realm_id);
      return {
        username_is_email: realm.username_validation_human === "email",
        policy_id: policy.id,
        realm_id: policy.realm_id,
        name: policy.name,
        subdomain: policy.subdomain,
        login_handler: policy.login_handler,
        signup_handler: policy.signup_handler,
        cors_origins: JSON.parse(policy.cors_origins) as string[],
        header: policy.header,
        footer: policy.footer,
        external_css: policy.external_css,
        ...settings,
      };
    },

    async login(ctx, params) {
      rejectUnknownParams(params, ["subdomain", "username", "email", "password"]);
      const { policy, realm } = appOf(params);
      const request = await requestOf(ctx, params);
      if (!loginRocketSettings(rt.db, realm.id).login) throw new CoreError("login_rocket.login_disabled");
      const p = new Problems();
      const name = readName(params, p);
      const password = rawString(params, "password", p, MAX_PASSWORD);
      if ((password === undefined || password === "") && !p.errors.password) p.add("password", "can't be blank");
      p.throwIfAny();
      const { token } = await passwordLogin(rt, ctx, realm, name!, password!, request, { login_policy_id: policy.id });
      return { token, url: handlerUrl(policy.login_handler, token) };
    },

    async signup(ctx, params) {
      rejectUnknownParams(params, ["subdomain", ...SIGNUP_FIELDS]);
      const { policy, realm } = appOf(params);
      const request = await requestOf(ctx, params);
      const settings = loginRocketSettings(rt.db, realm.id);
      if (!settings.signup) throw new CoreError("login_rocket.signup_disabled");
      const given: Record<string, unknown> = {};
      for (const key of SIGNUP_FIELDS) if (params[key] !== undefined) given[key] = params[key];
      const attrs = readUserAttributes(given, realm, true, SIGNUP_FIELDS);
      const p = new Problems();
      if (!attrs.password) p.add("password", "can't be blank");
      if (settings.name_field === "required") {
        if (!attrs.first_name) p.add("first_name", "can't be blank");
        if (!attrs.last_name) p.add("last_name", "can't be blank");
      }
      p.throwIfAny();
      const passwordHash = await rt.hasher.hash(attrs.password!);
      const id = rt.ids.next("usr");
      const now = seconds(rt.clock());
      const subjects = { login_policy_id: policy.id };
      const { user, session } = await rt.db.write((sql) => {
        insertUser(sql, rt, ctx, request, realm, { id, type: "human", username: attrs.username!, attrs, passwordHash, apiKeyHash: null, now }, subjects);
        sql.run("UPDATE users SET last_login_at = ? WHERE id = ?", now, id);
        const started = startSession(sql, rt, realm, { id }, request, now);
        writeEvent(sql, rt, ctx, request, "user.login.succeeded", { ...subjects, realm_id: realm.id, user_id: id });
        return { user: sql.get<UserRow>(`SELECT t.*, ${MEMBERSHIP_COUNT} FROM users t WHERE t.id = ?`, now, id)!, session: started };
      });
      const token = await signLoginToken(rt.db, realm, user, session.id, Math.floor(now), session.expires_at);
      return { token, url: handlerUrl(policy.signup_handler ?? policy.login_handler, token) };
    },

    async logout(ctx, params) {
      rejectUnknownParams(params, ["subdomain", "token"]);
      const { realm } = appOf(params);
      await requestOf(ctx, params);
      const token = params.token;
      if (typeof token !== "string" || token === "") throw new CoreError("validation_failed", { token: ["can't be blank"] });
      // Only the token itself logs out: a session id is not a secret (it is the JWT's `tk`).
      if (token.split(".").length !== 3) throw new CoreError("validation_failed", { token: ["must be the login token (a JWT)"] });
      // Logging out is idempotent: an unknown or ended session is already logged out.
      const session = await findSession(rt, realm, token, seconds(rt.clock()));
      if (session && realm.session_type === "managed") await rt.db.write((sql) => sql.run("DELETE FROM sessions WHERE id = ?", session.id));
      return {};
    },
  };
}
