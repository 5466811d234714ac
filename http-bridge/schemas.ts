/**
 * JSON Schemas of the v1 objects, for the OpenAPI document and for fast response
 * serialization. They describe; they never validate requests (core does that, for every
 * surface alike), and every object schema allows further properties so that a field added
 * in core is never silently dropped from a response.
 */

type Schema = Record<string, unknown>;

const str = (description?: string): Schema => ({ type: "string", ...(description ? { description } : {}) });
const nstr = (description?: string): Schema => ({ type: ["string", "null"], ...(description ? { description } : {}) });
const time = (description: string): Schema => ({ type: "number", description });
const ntime = (description: string): Schema => ({ type: ["number", "null"], description });
const int = (description: string): Schema => ({ type: "integer", description });
const bool = (description: string): Schema => ({ type: "boolean", description });
const strings = (description: string): Schema => ({ type: "array", items: { type: "string" }, description });
const custom: Schema = { type: "object", additionalProperties: true, description: "Custom attributes (any JSON object)" };
const ref = (name: string): Schema => ({ $ref: `#/components/schemas/${name}` });
const object = (id: string, properties: Record<string, Schema>, required: string[] = ["id", "object"]): Schema => ({
  type: "object",
  additionalProperties: true,
  required,
  properties: { id: str(`Identifier (${id}_…)`), object: str("The object type"), ...properties },
});
const request: Schema = {
  type: ["object", "null"],
  properties: { ip: nstr("End user's IP address"), client: nstr("End user's client (user agent)") },
  additionalProperties: false,
};

/** Component schemas of every v1 object, by name. */
export const OBJECT_SCHEMAS: Record<string, Schema> = {
  Realm: object("rl", {
    name: str(),
    state: { enum: ["active", "inactive"] },
    reference: nstr(),
    custom,
    username_validation_human: { enum: ["standard", "email"] },
    require_unique_emails: bool("Emails must be unique within the realm"),
    api_key_prefix: nstr(),
    api_key_policy: { enum: ["hash", "encrypt"] },
    api_key_minutes: int("Lifetime of tokens issued by authenticate_key (0 = none)"),
    session_type: { enum: ["managed", "unmanaged"] },
    session_minutes: int("Session lifetime"),
    jwt_data: strings("Extra JWT claims: memberships, orgs, custom"),
    jwt_secret: str("HS256 key of the realm's login tokens (jsk_…)"),
    created_at: time("Unix seconds"),
  }),
  Credential: object("crd", {
    user_id: str(),
    credential_type: { enum: ["password", "api_key"] },
    api_key: str("Only in the response that generated it"),
    created_at: time("Unix seconds"),
  }),
  User: object("usr", {
    realm_id: str(),
    user_type: { enum: ["human", "api"] },
    state: { enum: ["active", "inactive"] },
    username: str("Normalized (NFKC, lower case)"),
    email: nstr(),
    first_name: nstr(),
    last_name: nstr(),
    name: nstr("first_name and last_name"),
    reference: nstr(),
    custom,
    created_at: time("Unix seconds"),
    last_login_at: ntime("Unix seconds"),
    last_login_on: ntime("Deprecated alias of last_login_at"),
    membership_count: int("Live memberships"),
    credentials: { type: "array", items: ref("Credential"), description: "On Get only" },
    memberships: { type: "array", items: ref("Membership"), description: "With expands=memberships" },
    token: nstr("Login token (authenticate calls)"),
    api_key: str("Generated key (create of an api user only)"),
    password_reset_token: str("generate_password_token only (kpw_…)"),
  }),
  Org: object("org", {
    realm_id: str(),
    name: str(),
    state: { enum: ["active", "inactive"] },
    reference: nstr(),
    custom,
    created_at: time("Unix seconds"),
    memberships: { type: "array", items: ref("Membership"), description: "With expands=memberships" },
  }),
  Membership: object("mb", {
    user_id: str(),
    org_id: nstr("null for the org-less membership"),
    permissions: strings("Always an array"),
    expires_at: { type: ["integer", "null"], description: "Unix seconds" },
    custom,
    created_at: time("Unix seconds"),
    org: { anyOf: [ref("Org"), { type: "null" }], description: "Embedded when listed by user" },
    user: { ...ref("User"), description: "Embedded when listed by org" },
  }),
  Session: object("kss", {
    user_id: str(),
    created_at: time("Unix seconds"),
    expires_at: int("Unix seconds"),
    request,
    ip: nstr("Deprecated mirror of request.ip"),
    client: nstr("Deprecated mirror of request.client"),
    user: ref("User"),
    token: str("On create, and with expands=token"),
    memberships: { type: "array", items: ref("Membership") },
  }),
  UserToken: object("utk", {
    realm_id: str(),
    username: nstr(),
    email: nstr(),
    first_name: nstr(),
    last_name: nstr(),
    expires_at: int("Unix seconds"),
    created_at: time("Unix seconds"),
  }),
  Notification: object("ent", {
    app_hook_id: str(),
    event_id: str(),
    state: { enum: ["in_progress", "completed", "failed", "canceled"] },
    attempts: int("Delivery attempts so far"),
    last_attempt_at: ntime("Unix seconds"),
    last_destination: nstr(),
    last_result: nstr("e.g. HTTP 200, timeout, connection refused"),
  }),
  Event: object("ev", {
    event_type: str(),
    event_at: time("Unix seconds"),
    realm_id: nstr(),
    user_id: nstr(),
    org_id: nstr(),
    membership_id: nstr(),
    app_hook_id: nstr(),
    login_policy_id: nstr(),
    auth_provider_id: nstr(),
    request,
    ip: nstr("Deprecated mirror of request.ip"),
    request_id: nstr("The rq_… id of the request that wrote the event"),
    notifications: { type: "array", items: ref("Notification") },
  }),
  LoginPolicy: object("lpl", {
    realm_id: str(),
    name: str(),
    subdomain: str(),
    login_handler: nstr(),
    signup_handler: nstr(),
    cors_origins: strings("Origins allowed to call the LoginRocket API"),
    header: nstr(),
    footer: nstr(),
    external_css: nstr(),
    domains: strings("Where its LoginRocket is served"),
    base_domain: nstr(),
    created_at: time("Unix seconds"),
  }),
  AuthProvider: object("ap", {
    realm_id: str(),
    provider_type: { enum: ["login_rocket", "password"] },
    state: { enum: ["active", "inactive"] },
    login: bool("login_rocket: end users may log in"),
    signup: bool("login_rocket: end users may sign up"),
    name_field: { enum: ["none", "optional", "required"] },
    min_length: int("password: minimum length (≥ 8)"),
    min_complexity: int("password: character classes required (0–4)"),
    required_chars: strings("password: classes every password must contain"),
    created_at: time("Unix seconds"),
  }),
  AppHook: object("hk", {
    state: { enum: ["active", "inactive"] },
    hook_type: { enum: ["webhook", "email"] },
    event_type: strings("Event types delivered (empty = all)"),
    realm_id: nstr("null = all realms"),
    destination: str("URL receiving the POSTs"),
    secret: str("Signing secret (hks_…)"),
    created_at: time("Unix seconds"),
  }),
  Error: {
    type: "object",
    required: ["errors", "code"],
    properties: {
      errors: { type: "object", additionalProperties: { type: "array", items: { type: "string" } }, description: "Attribute (or base) → messages" },
      code: str("Stable slug, see docs/errors.md"),
    },
  },
};

/** The schema of a list page of `name` objects. */
export function listOf(name: string): Schema {
  return {
    type: "object",
    required: ["collection", "more_results"],
    properties: { collection: { type: "array", items: ref(name) }, more_results: { type: "boolean" } },
  };
}

export { ref as schemaRef };
