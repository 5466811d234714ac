/**
 * What only the HTTP surface does: parsing, statuses, headers, request ids and logging.
 * A real SQLite file, a real socket and node:http requests (full control over headers).
 */
import assert from "node:assert/strict";
import { request as httpRequest, type IncomingHttpHeaders } from "node:http";
import { mkdtempSync, rmSync } from "node:fs";
import { connect, type AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { FastifyInstance } from "fastify";
import { pino } from "pino";
import { openRampart, type OpenRampart, type Rampart } from "@rampart/core";
import { nodeDeps } from "@rampart/core/adapters/node";
import { buildHttpApp, HTTP_STATUS_BY_KIND, kindForHttpStatus, MAX_JSON_DEPTH, shedConnections } from "@rampart/http-bridge";
import { ApiError } from "./contract/api.ts";
import { httpApi } from "./contract/http_api.ts";

const REQUEST_ID = /^rq_[0-9A-Za-z]{22}$/;

interface RawResponse {
  status: number;
  headers: IncomingHttpHeaders;
  text: string;
  json: any;
}

interface RawRequest {
  method?: string;
  headers?: Record<string, string>;
  body?: string | Buffer;
}

/** One request over a real socket with exactly the given headers and body. */
function send(port: number, path: string, req: RawRequest = {}): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string | number> = { ...req.headers };
    if (req.body !== undefined && headers["content-length"] === undefined) headers["content-length"] = Buffer.byteLength(req.body);
    const r = httpRequest({ host: "127.0.0.1", port, path, method: req.method ?? "GET", headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => {
        const text = Buffer.concat(chunks).toString("utf8");
        let json: unknown;
        try {
          json = text === "" ? undefined : JSON.parse(text);
        } catch {
          json = undefined;
        }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json });
      });
    });
    // The server may answer (413) and close before the whole body is written.
    r.on("error", (err: NodeJS.ErrnoException) => (err.code === "EPIPE" || err.code === "ECONNRESET" ? undefined : reject(err)));
    if (req.body !== undefined) r.write(req.body);
    r.end();
  });
}

const JSON_HEADERS = { "content-type": "application/json" };

/** Asserts a v1 error body with its request id. */
function assertError(res: RawResponse, status: number, code: string): void {
  assert.equal(res.status, status, res.text);
  assert.equal(res.json?.code, code, res.text);
  assert.equal(typeof res.json.errors, "object");
  assert.ok(Object.keys(res.json.errors).length > 0, "errors has at least one message");
  assert.match(String(res.headers["x-request-id"]), REQUEST_ID);
  assert.equal(res.headers["content-type"], "application/json; charset=utf-8");
}

describe("http bridge", () => {
  let dir: string;
  let rampart: OpenRampart;
  let app: FastifyInstance;
  let port: number;
  let adminKey: string;
  let legacyKey: string;
  let realmId: string;
  const logLines: string[] = [];
  let auth: Record<string, string>;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "rampart-http-"));
    rampart = await openRampart(nodeDeps({ path: join(dir, "rampart.db"), synchronous: "NORMAL", throttle: { perUser: 2 } }));
    const created = await rampart.keys.create({});
    adminKey = created.key as string;
    legacyKey = created.legacy_key as string;
    app = buildHttpApp(rampart, { logger: { level: "info", stream: { write: (line: string) => logLines.push(line) } } });
    await app.listen({ host: "127.0.0.1", port: 0 });
    port = (app.server.address() as AddressInfo).port;
    auth = { "x-authrocket-api-key": adminKey };
    const realm = await send(port, "/v1/realms", {
      method: "POST",
      headers: { ...auth, ...JSON_HEADERS },
      body: JSON.stringify({ realm: { name: "HTTP tests" } }),
    });
    assert.equal(realm.status, 201, realm.text);
    realmId = realm.json.id;
    auth = { ...auth, "x-authrocket-realm": realmId };
  });

  after(async () => {
    await app.close();
    await rampart.close();
    rmSync(dir, { recursive: true, force: true });
  });

  async function createUser(username: string): Promise<any> {
    const res = await send(port, "/v1/users", {
      method: "POST",
      headers: { ...auth, ...JSON_HEADERS },
      body: JSON.stringify({ user: { username, password: "correct horse 1", password_confirmation: "correct horse 1" } }),
    });
    assert.equal(res.status, 201, res.text);
    return res.json;
  }

  describe("request ids and headers", () => {
    it("every success carries X-Request-ID rq_ + 22 base62 and a JSON content type", async () => {
      const health = await send(port, "/health");
      assert.equal(health.status, 200);
      assert.deepEqual(health.json, { status: "ok" });
      assert.match(String(health.headers["x-request-id"]), REQUEST_ID);

      const list = await send(port, "/v1/realms", { headers: auth });
      assert.equal(list.status, 200, list.text);
      assert.match(String(list.headers["x-request-id"]), REQUEST_ID);
      assert.equal(list.headers["content-type"], "application/json; charset=utf-8");
      assert.notEqual(list.headers["x-request-id"], health.headers["x-request-id"]);
    });

    it("the request id of a write is the one recorded on its event", async () => {
      const res = await send(port, "/v1/realms", { method: "POST", headers: { ...auth, ...JSON_HEADERS }, body: '{"realm":{"name":"Evented"}}' });
      assert.equal(res.status, 201, res.text);
      const events = await send(port, `/v1/events?realm_id=${res.json.id}&event_type=realm.created`, { headers: auth });
      assert.equal(events.status, 200, events.text);
      assert.equal(events.json.collection[0]?.request_id, res.headers["x-request-id"]);
    });

    it("an incoming X-Request-ID is not trusted", async () => {
      const res = await send(port, "/health", { headers: { "x-request-id": "rq_attackerchosen000000000" } });
      assert.notEqual(res.headers["x-request-id"], "rq_attackerchosen000000000");
      assert.match(String(res.headers["x-request-id"]), REQUEST_ID);
    });

    it("an unknown route is a 404 route.not_found with a request id", async () => {
      assertError(await send(port, "/v1/nope", { headers: auth }), 404, "route.not_found");
      assertError(await send(port, "/v1/users/x/nope", { method: "POST", headers: auth }), 404, "route.not_found");
      assertError(await send(port, "/v1/nope", { method: "POST", headers: JSON_HEADERS, body: "{bad" }), 404, "route.not_found");
    });

    it("OPTIONS answers 204 with Allow and a request id; an unknown path is a 404", async () => {
      const res = await send(port, "/v1/users/abc", { method: "OPTIONS" });
      assert.equal(res.status, 204);
      assert.equal(res.headers.allow, "GET, HEAD, PUT, DELETE, OPTIONS");
      assert.match(String(res.headers["x-request-id"]), REQUEST_ID);
      assertError(await send(port, "/v1/nope", { method: "OPTIONS" }), 404, "route.not_found");
    });

    it("create is 201, delete is 204 with an empty body", async () => {
      const user = await createUser("to-delete");
      const res = await send(port, `/v1/users/${user.id}`, { method: "DELETE", headers: auth });
      assert.equal(res.status, 204);
      assert.equal(res.text, "");
      assert.match(String(res.headers["x-request-id"]), REQUEST_ID);
    });
  });

  describe("bodies", () => {
    it("malformed JSON is a 400 request.malformed naming the body", async () => {
      const res = await send(port, "/v1/realms", { method: "POST", headers: { ...auth, ...JSON_HEADERS }, body: '{"realm": {"name": "x",}' });
      assertError(res, 400, "request.malformed");
      assert.ok(res.json.errors.body[0].includes("not valid JSON"));
    });

    it("a JSON parse error does not echo the body (it may hold a password)", async () => {
      const res = await send(port, "/v1/realms", { method: "POST", headers: { ...auth, ...JSON_HEADERS }, body: '{"password": hunter2isthesecret}' });
      assertError(res, 400, "request.malformed");
      assert.ok(!res.text.includes("hunter2isthesecret"));
    });

    it("a body over the limit is a 413 request.too_large", async () => {
      const body = JSON.stringify({ realm: { name: "x".repeat(1024 * 1024) } });
      assertError(await send(port, "/v1/realms", { method: "POST", headers: { ...auth, ...JSON_HEADERS }, body }), 413, "request.too_large");
    });

    it("the body limit is configurable", async () => {
      const small = buildHttpApp(rampart, { bodyLimit: 64 });
      try {
        const res = await small.inject({
          method: "POST",
          url: "/v1/realms",
          headers: { ...auth, ...JSON_HEADERS },
          payload: JSON.stringify({ realm: { name: "y".repeat(100) } }),
        });
        assert.equal(res.statusCode, 413);
        assert.equal(res.json().code, "request.too_large");
      } finally {
        await small.close();
      }
    });

    it("another content type is a 415", async () => {
      assertError(
        await send(port, "/v1/realms", { method: "POST", headers: { ...auth, "content-type": "text/plain" }, body: "name=x" }),
        415,
        "request.unsupported_media_type",
      );
      assertError(
        await send(port, "/v1/realms", { method: "POST", headers: { ...auth, "content-type": "multipart/form-data; boundary=x" }, body: "--x--" }),
        415,
        "request.unsupported_media_type",
      );
      assertError(await send(port, "/v1/realms", { method: "POST", headers: auth, body: '{"realm":{}}' }), 415, "request.unsupported_media_type");
    });

    it("bodiless GET and DELETE with Content-Type: application/json and Content-Length: 0 are not 400s", async () => {
      const headers = { ...auth, ...JSON_HEADERS, "content-length": "0" };
      const get = await send(port, "/v1/realms", { headers });
      assert.equal(get.status, 200, get.text);
      const user = await createUser("bodiless-delete");
      const del = await send(port, `/v1/users/${user.id}`, { method: "DELETE", headers });
      assert.equal(del.status, 204, del.text);
    });

    it("an empty POST body is an empty params object (core answers, not the parser)", async () => {
      const res = await send(port, "/v1/realms", { method: "POST", headers: { ...auth, ...JSON_HEADERS, "content-length": "0" } });
      assertError(res, 422, "validation_failed");
    });

    it("JSON with a charset parameter is accepted", async () => {
      const res = await send(port, "/v1/realms", {
        method: "POST",
        headers: { ...auth, "content-type": "application/json; charset=ISO-8859-1" },
        body: '{"realm":{"name":"Charset"}}',
      });
      assert.equal(res.status, 201, res.text);
    });

    it("a form body with bracket syntax reaches core as nested params", async () => {
      const res = await send(port, "/v1/realms", {
        method: "POST",
        headers: { ...auth, "content-type": "application/x-www-form-urlencoded; charset=UTF-8" },
        body: "realm[name]=Form+Realm%21&realm[reference]=ref-1",
      });
      assert.equal(res.status, 201, res.text);
      assert.equal(res.json.name, "Form Realm!");
      assert.equal(res.json.reference, "ref-1");
    });

    it("a JSON body that is not an object is a 400", async () => {
      for (const body of ["[]", '"x"', "42", "null"]) {
        assertError(await send(port, "/v1/realms", { method: "POST", headers: { ...auth, ...JSON_HEADERS }, body }), 400, "request.malformed");
      }
    });

    it(`JSON nested deeper than ${MAX_JSON_DEPTH} levels is a 400; ${MAX_JSON_DEPTH} levels reach core`, async () => {
      const nest = (levels: number) => '{"a":'.repeat(levels - 1) + "{}" + "}".repeat(levels - 1);
      const deep = await send(port, "/v1/realms", { method: "POST", headers: { ...auth, ...JSON_HEADERS }, body: nest(MAX_JSON_DEPTH + 1) });
      assertError(deep, 400, "request.malformed");
      const atLimit = await send(port, "/v1/realms", { method: "POST", headers: { ...auth, ...JSON_HEADERS }, body: nest(MAX_JSON_DEPTH) });
      assert.notEqual(atLimit.status, 400, atLimit.text);
      assert.ok(atLimit.status < 500, atLimit.text);
      const huge = await send(port, "/v1/realms", { method: "POST", headers: { ...auth, ...JSON_HEADERS }, body: "[".repeat(500_000) });
      assertError(huge, 400, "request.malformed");
    });

    it("prototype-pollution keys are a 400 naming the key, in JSON, form bodies and query strings", async () => {
      const json = await send(port, "/v1/realms", {
        method: "POST",
        headers: { ...auth, ...JSON_HEADERS },
        body: '{"realm":{"name":"p","custom":{"__proto__":{"admin":true}}}}',
      });
      assertError(json, 400, "request.malformed");
      assert.deepEqual(Object.keys(json.json.errors), ["realm[custom][__proto__]"]);

      const ctor = await send(port, "/v1/realms", { method: "POST", headers: { ...auth, ...JSON_HEADERS }, body: '{"constructor":{"prototype":{}}}' });
      assertError(ctor, 400, "request.malformed");
      assert.deepEqual(Object.keys(ctor.json.errors), ["constructor"]);

      const form = await send(port, "/v1/realms", {
        method: "POST",
        headers: { ...auth, "content-type": "application/x-www-form-urlencoded" },
        body: "realm[name]=p&realm[__proto__][admin]=1",
      });
      assertError(form, 400, "request.malformed");
      assert.deepEqual(Object.keys(form.json.errors), ["realm[__proto__][admin]"]);

      const query = await send(port, "/v1/users?__proto__%5Bx%5D=1", { headers: auth });
      assertError(query, 400, "request.malformed");
      assert.deepEqual(Object.keys(query.json.errors), ["__proto__[x]"]);
      assertError(await send(port, "/v1/users?a[constructor]=1", { headers: auth }), 400, "request.malformed");
      assert.equal(({} as Record<string, unknown>).admin, undefined);
    });

    it("invalid UTF-8 is a 400, in JSON, form bodies and query strings", async () => {
      const bad = Buffer.concat([Buffer.from('{"realm":{"name":"'), Buffer.from([0xc3, 0x28]), Buffer.from('"}}')]);
      assertError(await send(port, "/v1/realms", { method: "POST", headers: { ...auth, ...JSON_HEADERS }, body: bad }), 400, "request.malformed");
      const surrogate = await send(port, "/v1/realms", { method: "POST", headers: { ...auth, ...JSON_HEADERS }, body: '{"realm":{"name":"\\ud800"}}' });
      assertError(surrogate, 400, "request.malformed");
      assert.deepEqual(Object.keys(surrogate.json.errors), ["realm[name]"]);
      assertError(
        await send(port, "/v1/realms", {
          method: "POST",
          headers: { ...auth, "content-type": "application/x-www-form-urlencoded" },
          body: "realm[name]=%C3%28",
        }),
        400,
        "request.malformed",
      );
      assertError(await send(port, "/v1/users?username=%E0%A4", { headers: auth }), 400, "request.malformed");
      assertError(await send(port, "/v1/users?username=%zz", { headers: auth }), 400, "request.malformed");
    });

    it("a NUL byte in a field is refused by core with a 4xx, never a 500", async () => {
      const res = await send(port, "/v1/realms", { method: "POST", headers: { ...auth, ...JSON_HEADERS }, body: '{"realm":{"name":"a\\u0000b"}}' });
      assert.ok(res.status >= 400 && res.status < 500, res.text);
      assert.ok(res.json.errors);
      const form = await send(port, "/v1/users?username=a%00b", { headers: auth });
      assert.ok(form.status >= 400 && form.status < 500, form.text);
      const path = await send(port, "/v1/users/a%00b", { headers: auth });
      assert.ok(path.status >= 400 && path.status < 500, path.text);
    });

    it("query limits are 400s, not silent truncation", async () => {
      const many = Array.from({ length: 1001 }, (_, i) => `p${i}=1`).join("&");
      assertError(await send(port, `/v1/users?${many}`, { headers: auth }), 400, "request.malformed");
      const deep = "a" + "[b]".repeat(11) + "=1";
      assertError(await send(port, `/v1/users?${deep}`, { headers: auth }), 400, "request.malformed");
    });

    it("duplicate query params become an array that core rejects with a 422", async () => {
      const res = await send(port, "/v1/users?max_results=1&max_results=2", { headers: auth });
      assertError(res, 422, "validation_failed");
    });
  });

  describe("path ids", () => {
    it("decodes %XX and + as a space", async () => {
      await createUser("x.y@example.com");
      const at = await send(port, "/v1/users/x.y%40example.com", { headers: auth });
      assert.equal(at.status, 200, at.text);
      assert.equal(at.json.username, "x.y@example.com");

      // `a+b` is the form encoding of "a b": it must not find the user named "a+b".
      await createUser("a+b");
      assertError(await send(port, "/v1/users/a+b", { headers: auth }), 404, "user.not_found");
      const plus = await send(port, "/v1/users/a%2Bb", { headers: auth });
      assert.equal(plus.status, 200, plus.text);
      assert.equal(plus.json.username, "a+b");
    });

    it("a space (+) reaches core decoded", async () => {
      const res = await send(port, "/v1/users/no+such+user", { headers: auth });
      assertError(res, 404, "user.not_found");
    });

    it("malformed %-encoding in a path id is a 400", async () => {
      assertError(await send(port, "/v1/users/%E0%A4%A", { headers: auth }), 400, "request.malformed");
      assertError(await send(port, "/v1/users/%ZZ", { headers: auth }), 400, "request.malformed");
    });

    it("a long path id (an escaped email) is routed", async () => {
      const long = `${"l".repeat(120)}@example.com`;
      await createUser(long);
      const res = await send(port, `/v1/users/${encodeURIComponent(long)}`, { headers: auth });
      assert.equal(res.status, 200, res.text);
    });
  });

  describe("the request hash in query strings", () => {
    it('the 2015 Ruby form ?request={"ip"=>"1.2.3.4"} reaches core and lands on the event', async () => {
      const user = await createUser("ruby-delete");
      const q = encodeURIComponent('{"ip"=>"1.2.3.4"}');
      const res = await send(port, `/v1/users/${user.id}?request=${q}`, { method: "DELETE", headers: auth });
      assert.equal(res.status, 204, res.text);
      const events = await send(port, `/v1/events?user_id=${user.id}&event_type=user.deleted`, { headers: auth });
      assert.equal(events.status, 200, events.text);
      assert.equal(events.json.collection[0]?.request?.ip, "1.2.3.4");
    });

    it("bracket form request[ip]= reaches core as a nested object", async () => {
      const user = await createUser("bracket-delete");
      const res = await send(port, `/v1/users/${user.id}?request[ip]=5.6.7.8&request[client]=curl`, { method: "DELETE", headers: auth });
      assert.equal(res.status, 204, res.text);
      const events = await send(port, `/v1/events?user_id=${user.id}&event_type=user.deleted`, { headers: auth });
      assert.equal(events.json.collection[0]?.request?.ip, "5.6.7.8");
    });
  });

  describe("credentials", () => {
    it("Authorization: Bearer reaches core", async () => {
      const res = await send(port, "/v1/realms", { headers: { authorization: `Bearer ${adminKey}` } });
      assert.equal(res.status, 200, res.text);
    });

    it("the legacy account + key_ pair reaches core", async () => {
      const res = await send(port, "/v1/realms", { headers: { "x-authrocket-account": rampart.accountId, "x-authrocket-api-key": legacyKey } });
      assert.equal(res.status, 200, res.text);
    });

    it("missing or wrong credentials are 403s", async () => {
      assertError(await send(port, "/v1/realms"), 403, "api_key.missing");
      const wrong = await send(port, "/v1/realms", { headers: { authorization: "Bearer ko_nope" } });
      assert.equal(wrong.status, 403, wrong.text);
    });

    it("the realm header selects the realm", async () => {
      const without = await send(port, "/v1/users", { headers: { "x-authrocket-api-key": adminKey } });
      assertError(without, 422, "realm.required");
      const withHeader = await send(port, "/v1/users", { headers: auth });
      assert.equal(withHeader.status, 200, withHeader.text);
    });
  });

  describe("throttling", () => {
    it("429 carries Retry-After and the X-Ratelimit headers", async () => {
      await createUser("throttled");
      const attempt = () =>
        send(port, "/v1/users/throttled/authenticate", {
          method: "POST",
          headers: { ...auth, ...JSON_HEADERS },
          body: JSON.stringify({ password: "wrong password!", request: { ip: "10.0.0.1" } }),
        });
      let res = await attempt();
      for (let i = 0; i < 5 && res.status === 401; i++) res = await attempt();
      assertError(res, 429, "user.throttled");
      assert.ok(Number(res.headers["retry-after"]) >= 1, String(res.headers["retry-after"]));
      for (const h of ["x-ratelimit-limit", "x-ratelimit-remaining", "x-ratelimit-reset"]) {
        assert.match(String(res.headers[h]), /^\d+$/, h);
      }
    });
  });

  describe("logging", () => {
    it("log lines carry the request id and never the query string or credentials", async () => {
      logLines.length = 0;
      const res = await send(port, "/v1/users?password=hunter2-in-query&api_key=secret-in-query", {
        headers: { ...auth, authorization: `Bearer ${adminKey}` },
      });
      assert.ok(res.status < 500);
      await send(port, "/v1/nope?token=token-in-query");
      const logged = logLines.join("");
      assert.ok(logged.includes(String(res.headers["x-request-id"])), "the request id is logged");
      for (const secret of ["hunter2-in-query", "secret-in-query", "token-in-query", adminKey, adminKey.split("-")[1]!]) {
        assert.ok(!logged.includes(secret), `${secret} leaked into the log`);
      }
      for (const line of logLines) {
        const entry = JSON.parse(line);
        if (entry.req) assert.match(entry.request_id, REQUEST_ID);
      }
    });
  });

  describe("logging with a pino logger instance", () => {
    it("a caller's pino logger gets the same URL scrubbing and a JWT path segment is masked", async () => {
      const lines: string[] = [];
      const logger = pino({ level: "info" }, { write: (l: string) => void lines.push(l) });
      const logged = buildHttpApp(rampart, { logger });
      try {
        const res = await logged.inject({ url: "/v1/realms?password=hunter3-in-query", headers: { authorization: `Bearer ${adminKey}` } });
        await logged.inject({ url: "/v1/sessions/eyJhbGciOiJIUzI1NiJ9.eyJ1aWQiOiJ4In0.c2lnbmF0dXJl" });
        const text = lines.join("");
        assert.ok(text.includes(String(res.headers["x-request-id"])));
        for (const secret of ["hunter3-in-query", adminKey, "eyJ1aWQiOiJ4In0"]) assert.ok(!text.includes(secret), secret);
      } finally {
        await logged.close();
      }
    });
  });

  describe("I/O turns", () => {
    // A clock that stands still: a probe is shared only within one millisecond.
    let frozen: OpenRampart;
    let frozenApp: FastifyInstance;
    let frozenPort: number;
    let frozenKey: string;
    before(async () => {
      const now = Date.now();
      frozen = await openRampart(nodeDeps({ path: join(dir, "frozen.db"), synchronous: "NORMAL", clock: () => now }));
      frozenKey = (await frozen.keys.create({})).key as string;
      frozenApp = buildHttpApp(frozen);
      await frozenApp.listen({ host: "127.0.0.1", port: 0 });
      frozenPort = (frozenApp.server.address() as AddressInfo).port;
    });
    after(async () => {
      await frozenApp.close();
      await frozen.close();
    });

    /** Writes `count` GETs in one TCP write and resolves once all `count` answers have arrived. */
    function pipelined(count: number): Promise<string> {
      return new Promise((resolve, reject) => {
        const one = `GET /v1/realms HTTP/1.1\r\nHost: x\r\nx-authrocket-api-key: ${frozenKey}\r\n\r\n`;
        let text = "";
        const socket = connect(frozenPort, "127.0.0.1", () => socket.write(one.repeat(count)));
        socket.setEncoding("utf8");
        socket.on("data", (chunk: string) => {
          text += chunk;
          if (text.split("HTTP/1.1 200 OK").length - 1 === count) {
            socket.destroy();
            resolve(text);
          }
        });
        socket.on("error", reject);
      });
    }

    it("requests read from a socket in one batch share one check for other processes' commits", async () => {
      const probes = frozen.probeCount();
      await pipelined(3);
      assert.equal(frozen.probeCount() - probes, 1, "three requests, read at once: one probe");
    });

    it("a request read in a later batch probes again, and an injected request always does", async () => {
      const headers = { "x-authrocket-api-key": frozenKey };
      const before = frozen.probeCount();
      for (let i = 0; i < 2; i++) assert.equal((await send(frozenPort, "/v1/realms", { headers })).status, 200);
      assert.equal(frozen.probeCount() - before, 2, "each request came in its own batch");
      const injected = frozen.probeCount();
      for (let i = 0; i < 2; i++) assert.equal((await frozenApp.inject({ url: "/v1/realms", headers })).statusCode, 200);
      assert.equal(frozen.probeCount() - injected, 2, "inject() may run in any phase of the event loop: no turn");
    });
  });

  describe("shedConnections", () => {
    it("closes exactly the next n answers' connections, then none", async () => {
      const shedding = buildHttpApp(rampart);
      try {
        const closing = async () => (await shedding.inject({ url: "/health" })).headers.connection === "close";
        assert.equal(await closing(), false);
        shedConnections(shedding, 2);
        assert.deepEqual([await closing(), await closing(), await closing()], [true, true, false]);
      } finally {
        await shedding.close();
      }
    });
  });

  describe("forwarded request ids", () => {
    it("keeps a helper's request id only with the shared token; a client's own header is ignored", async () => {
      const primary = buildHttpApp(rampart, { forwardToken: "shared-secret-token" });
      try {
        const id = "rq_0123456789ABCDEFGHIJKL";
        const ask = async (value: string) => (await primary.inject({ url: "/health", headers: { "x-rampart-forwarded": value } })).headers["x-request-id"];
        assert.equal(await ask(`shared-secret-token ${id}`), id);
        for (const bad of [`wrong-secret-token!! ${id}`, `shared-secret-toke ${id}`, id, "shared-secret-token rq_short"]) {
          const got = await ask(bad);
          assert.notEqual(got, id, bad);
          assert.match(String(got), /^rq_[0-9A-Za-z]{22}$/);
        }
        assert.throws(() => buildHttpApp(rampart, { forwardWrites: () => Promise.reject(new Error("unused")) }), /forwardWrites needs a forwardToken/);
      } finally {
        await primary.close();
      }
    });

    it("a helper answers reads itself, forwards writes, and turns a forwarding failure into a v1 error", async () => {
      const forwardedUrls: string[] = [];
      let primaryUp = true;
      const helper = buildHttpApp(rampart, {
        forwardToken: "shared-secret-token",
        bodyLimit: 1024,
        forwardWrites: async (request) => {
          forwardedUrls.push(`${request.method} ${request.url}`);
          if (!primaryUp) throw new Error("the primary process is gone");
          return { status: 201, headers: { "content-type": "application/json; charset=utf-8" }, body: Buffer.from('{"forwarded":true}') };
        },
      });
      try {
        const read = await helper.inject({ url: `/v1/realms/${realmId}`, headers: auth });
        assert.equal(read.statusCode, 200, read.body);
        assert.deepEqual(forwardedUrls, [], "a read is answered by the helper");
        const write = await helper.inject({ method: "POST", url: "/v1/realms", headers: { ...auth, ...JSON_HEADERS }, payload: { realm: { name: "x" } } });
        assert.equal(write.statusCode, 201);
        assert.deepEqual(write.json(), { forwarded: true });
        assert.deepEqual(forwardedUrls, ["POST /v1/realms"]);
        const tooLarge = await helper.inject({
          method: "POST",
          url: "/v1/realms",
          headers: { ...auth, ...JSON_HEADERS },
          payload: JSON.stringify({ realm: { name: "x".repeat(2000) } }),
        });
        assert.equal(tooLarge.statusCode, 413, tooLarge.body);
        assert.equal(tooLarge.json().code, "request.too_large");
        primaryUp = false;
        const failed = await helper.inject({ method: "POST", url: "/v1/realms", headers: { ...auth, ...JSON_HEADERS }, payload: { realm: { name: "y" } } });
        assert.equal(failed.statusCode, 500, failed.body);
        assert.match(String(failed.headers["x-request-id"]), REQUEST_ID);
      } finally {
        await helper.close();
      }
    });
  });

  describe("request loggers", () => {
    it("a request that logs nothing makes no child logger; one that logs at an enabled level logs with its request id", async () => {
      const lines: string[] = [];
      const logger = pino({ level: "warn" }, { write: (l: string) => void lines.push(l) });
      let children = 0;
      // Counts the children made from the app's logger (loggerSettings wraps the one given).
      const counting = new Proxy(logger, {
        get(target, prop, receiver) {
          if (prop !== "child") return Reflect.get(target, prop, receiver);
          return (...args: Parameters<typeof logger.child>) => {
            const appLogger = target.child(...args);
            const origChild = appLogger.child.bind(appLogger);
            appLogger.child = ((...a: Parameters<typeof appLogger.child>) => {
              children++;
              return origChild(...a);
            }) as typeof appLogger.child;
            return appLogger;
          };
        },
      });
      const logged = buildHttpApp(rampart, { logger: counting });
      try {
        await logged.ready();
        const atReady = children; // Fastify's own, made while starting
        for (let i = 0; i < 5; i++) assert.equal((await logged.inject({ url: "/health" })).statusCode, 200);
        assert.equal(children - atReady, 0, "info-level request logs are off at warn: no child logger per request");
        assert.equal(lines.length, 0);
        // A 500 is logged at error level: the child is made then, with the request id bound.
        const broken = buildHttpApp({ ...rampart, health: () => Promise.reject(new Error("disk on fire")) } as unknown as Rampart, { logger: counting });
        try {
          await broken.ready();
          const before = children;
          const res = await broken.inject({ url: "/health" });
          assert.equal(res.statusCode, 500);
          assert.equal(children - before, 1);
          const errorLine = lines.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l.level === 50);
          assert.equal(errorLine?.request_id, res.headers["x-request-id"]);
        } finally {
          await broken.close();
        }
      } finally {
        await logged.close();
      }
    });
  });

  describe("malformed HTTP", () => {
    it("a request Node's parser rejects still gets a v1 error body and a request id", async () => {
      const reply = await new Promise<string>((resolve, reject) => {
        const socket = connect(port, "127.0.0.1", () => socket.write("NOT HTTP AT ALL\r\n\r\n"));
        let data = "";
        socket.on("data", (c) => (data += c.toString("utf8")));
        socket.on("close", () => resolve(data));
        socket.on("error", reject);
      });
      assert.match(reply, /^HTTP\/1\.1 400 /);
      assert.match(reply, /X-Request-ID: rq_[0-9A-Za-z]{22}\r\n/);
      assert.ok(reply.endsWith('"code":"request.malformed"}'), reply);
    });
  });

  describe("errors", () => {
    it("an unexpected exception is a generic 500, logged with the request id", async () => {
      const lines: string[] = [];
      const boom = () => Promise.reject(new Error("SQLITE_CORRUPT: near SELECT in /srv/secret/path.db (better-sqlite3)"));
      const broken = {
        ...rampart,
        health: () => rampart.health(),
        users: { ...rampart.users, get: boom },
      } as unknown as Rampart;
      const brokenApp = buildHttpApp(broken, { logger: { stream: { write: (l: string) => lines.push(l) } } });
      try {
        const res = await brokenApp.inject({ method: "GET", url: "/v1/users/x", headers: auth });
        assert.equal(res.statusCode, 500);
        assert.deepEqual(Object.keys(res.json()), ["errors", "code"]);
        assert.equal(res.json().code, "internal");
        for (const word of ["SQLITE", "SELECT", "/srv", "better-sqlite3", "at "]) assert.ok(!res.body.includes(word), word);
        const requestId = String(res.headers["x-request-id"]);
        assert.match(requestId, REQUEST_ID);
        const errorLine = lines.map((l) => JSON.parse(l)).find((e) => e.level >= 50);
        assert.equal(errorLine?.request_id, requestId);
      } finally {
        await brokenApp.close();
      }
    });

    it("the kind table is a bijection, and the contract client inverts it", () => {
      for (const [kind, status] of Object.entries(HTTP_STATUS_BY_KIND)) assert.equal(kindForHttpStatus(status), kind);
    });
  });

  describe("the contract client", () => {
    it("maps ops to routes over a real socket and errors to ApiError", async () => {
      const api = await httpApi(rampart, adminKey);
      const failure = (p: Promise<unknown>) =>
        p.then(
          () => assert.fail("expected an ApiError"),
          (e: unknown) => {
            assert.ok(e instanceof ApiError, String(e));
            return e;
          },
        );
      try {
        const username = "contract.user@example.com";
        const password = "correct horse 1";
        const created = await api.call("users.create", { user: { username, password, password_confirmation: password } }, { realmId });
        assert.equal(created.body?.username, username);
        const got = await api.call("users.get", { id: username, expands: ["memberships"] }, { realmId });
        assert.equal(got.body?.username, username);
        assert.match(got.requestId, REQUEST_ID);
        const login = await api.call("users.authenticate", { id: username, password, request: { ip: "127.0.0.1" } }, { realmId });
        assert.equal(login.body?.username, username);
        const events = await api.call("events.list", { event_type: ["user.login"], user_id: created.body?.id }, { realmId });
        assert.equal((events.body?.collection as unknown[]).length, 1);

        const missing = await failure(api.call("users.get", { id: "nobody" }, { realmId }));
        assert.equal(missing.kind, "NOT_FOUND");
        assert.equal(missing.code, "user.not_found");
        assert.match(String(missing.requestId), REQUEST_ID);
        const invalid = await failure(api.call("users.list", { max_results: 0 }, { realmId }));
        assert.equal(invalid.kind, "INVALID_ARGUMENT");
        assert.ok(invalid.errors.max_results);
        const denied = await failure(api.call("realms.list", {}, { apiKey: null }));
        assert.equal(denied.kind, "PERMISSION_DENIED");

        const deleted = await api.call("users.delete", { id: username }, { realmId });
        assert.equal(deleted.body, undefined);
      } finally {
        await api.close();
      }
    });
  });
});
