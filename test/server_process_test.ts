/**
 * `bin/server.ts` as a real process (http-v1.md §0, security.md "Durability and faults"):
 * first-start key, later starts, RAMPART_ADMIN_KEY, configuration errors, health over HTTP
 * and gRPC, and graceful shutdown with requests in flight.
 */
import assert from "node:assert/strict";
import { readdirSync } from "node:fs";
import { request as httpRequest, Agent } from "node:http";
import { getPriority } from "node:os";
import { after, before, describe, test } from "node:test";
import {
  ACCOUNT_ID,
  GENERATED_KO_KEY,
  REQUEST_ID,
  api,
  cleanupTempDirs,
  createRealm,
  grpcHealth,
  killAll,
  makeAdminKey,
  runCli,
  runServerToExit,
  startServer,
  type ServerProcess,
} from "./helpers/process.ts";
import { threadPoolSize } from "../bin/thread_pool_priority.ts";

after(async () => {
  await killAll();
  cleanupTempDirs();
});

/** Counts the (non-overlapping) occurrences of `needle` in `text`. */
function occurrences(text: string, needle: string): number {
  return needle === "" ? 0 : text.split(needle).length - 1;
}

/** Output without the lines of the one-time key banner. */
function withoutBanner(text: string): string {
  return text
    .split("\n")
    .filter((l) => !l.includes("X-Authrocket-"))
    .join("\n");
}

describe("first start on an empty database, then a second start", () => {
  let first: ServerProcess;
  let second: ServerProcess | undefined;
  let key = "";
  let secret = "";
  let accountId = "";

  before(async () => {
    first = await startServer();
  });

  test("prints one generated ko_ key on stdout, and its legacy key_ form", () => {
    const out = first.stdout();
    const keys = out.match(GENERATED_KO_KEY) ?? [];
    assert.equal(keys.length, 1, `expected exactly one generated ko_ key on stdout:\n${out}`);
    key = keys[0]!;
    secret = key.slice(key.indexOf("-") + 1);
    assert.match(key, /^ko_[0-9A-Za-z]{22}-[0-9A-Za-z]{40}$/);
    assert.equal(occurrences(out, `key_${secret}`), 1, `legacy key_<secret> form printed once:\n${out}`);
    assert.equal(occurrences(out, secret), 2, "the secret appears only in the two printed forms");
    const account = /X-Authrocket-Account: (org_[0-9A-Za-z]+)/.exec(out);
    assert.ok(account, `legacy pair names the account:\n${out}`);
    accountId = account[1]!;
    assert.match(accountId, ACCOUNT_ID);
    assert.equal(occurrences(first.stderr(), secret), 0, "no secret on stderr");
  });

  test("the printed key works: X-Authrocket-Api-Key, Bearer and the legacy pair → 200; no/wrong key → 403", async () => {
    assert.ok(key, "key parsed by the previous test");
    const plain = await api(first, "GET", "/v1/realms", { key });
    assert.equal(plain.status, 200, plain.text);
    assert.ok(Array.isArray((plain.body as { collection?: unknown }).collection), plain.text);

    const bearer = await api(first, "GET", "/v1/realms", { headers: { authorization: `Bearer ${key}` } });
    assert.equal(bearer.status, 200, bearer.text);

    const legacy = await api(first, "GET", "/v1/realms", { headers: { "x-authrocket-account": accountId, "x-authrocket-api-key": `key_${secret}` } });
    assert.equal(legacy.status, 200, legacy.text);

    const none = await api(first, "GET", "/v1/realms");
    assert.equal(none.status, 403, none.text);
    const wrong = await api(first, "GET", "/v1/realms", { key: `${key.slice(0, -1)}${key.endsWith("a") ? "b" : "a"}` });
    assert.equal(wrong.status, 403, wrong.text);
  });

  test("GET /health → 200 {status:ok} without credentials, with a fresh X-Request-ID", async () => {
    const a = await api(first, "GET", "/health");
    const b = await api(first, "GET", "/health");
    assert.equal(a.status, 200, a.text);
    assert.deepEqual(a.body, { status: "ok" });
    const idA = a.headers.get("x-request-id") ?? "";
    const idB = b.headers.get("x-request-id") ?? "";
    assert.match(idA, REQUEST_ID);
    assert.match(idB, REQUEST_ID);
    assert.notEqual(idA, idB, "request ids are unique per request");
  });

  test("gRPC grpc.health.v1.Health/Check answers SERVING on the gRPC port", async () => {
    assert.equal(await grpcHealth(first.grpcPort), "SERVING");
  });

  test(
    "password hashes yield: libuv's pool threads at nice 19 (RAMPART_HASH_NICE), every other thread as started",
    { skip: process.platform !== "linux" && "Linux only" },
    () => {
      const pid = first.child.pid!;
      const start = getPriority(0);
      const nices = readdirSync(`/proc/${pid}/task`).map((tid) => ({ tid: Number(tid), nice: getPriority(Number(tid)) }));
      const lowered = nices.filter((t) => t.nice === 19);
      assert.equal(lowered.length, start === 19 ? nices.length : threadPoolSize(process.env.UV_THREADPOOL_SIZE), JSON.stringify(nices));
      assert.ok(!lowered.some((t) => t.tid === pid) || start === 19, "the event loop's thread keeps its priority");
      for (const t of nices) if (t.nice !== 19) assert.equal(t.nice, start, `thread ${t.tid}`);
    },
  );

  test("SIGTERM → exit code 0; the account id was logged and no secret ever was", async () => {
    const exit = await first.stop("SIGTERM");
    assert.deepEqual(exit, { code: 0, signal: null }, `stderr:\n${first.stderr()}`);
    const logs = withoutBanner(first.stdout()) + first.stderr();
    assert.ok(logs.includes(accountId), `the account id is logged:\n${logs}`);
    assert.equal(occurrences(first.stdout(), secret), 2, "after requests with the key, the secret is still only in the banner");
    assert.equal(occurrences(first.stderr(), secret), 0);
  });

  test("a second start on the same database prints no key, logs the same account, and the old key still works", async () => {
    assert.ok(key && accountId, "first start parsed");
    second = await startServer({ dbPath: first.dbPath });
    const out = second.stdout() + second.stderr();
    assert.equal((out.match(/ko_[0-9A-Za-z]{22}-[0-9A-Za-z]{32,}/g) ?? []).length, 0, `no key printed:\n${out}`);
    assert.equal(occurrences(out, secret), 0, "no secret printed or logged");
    assert.ok(!/key_[0-9A-Za-z]{32}/.test(out), `no legacy key printed:\n${out}`);
    assert.ok(out.includes(accountId), `the same account id is logged:\n${out}`);
    const res = await api(second, "GET", "/v1/realms", { key });
    assert.equal(res.status, 200, res.text);
  });

  test("SIGTERM with 20 user creates in flight: every one gets a complete 2xx response, exit 0", async () => {
    assert.ok(second, "second start running");
    const server = second;
    const realm = await createRealm(server, key);
    const agent = new Agent({ keepAlive: true, maxSockets: 64 });
    let signalled = false;
    let answeredAfterSignal = 0;
    const sent: Promise<void>[] = [];
    const responses: Promise<{ status: number; body: string }>[] = [];
    for (let i = 0; i < 20; i++) {
      const payload = JSON.stringify({ user: { username: `inflight-${i}`, password: "correct horse battery staple" } });
      let onSent!: () => void;
      sent.push(new Promise<void>((r) => (onSent = r)));
      responses.push(
        new Promise((resolve, reject) => {
          const req = httpRequest(
            {
              host: "127.0.0.1",
              port: server.httpPort,
              method: "POST",
              path: "/v1/users",
              agent,
              timeout: 20_000,
              headers: {
                "content-type": "application/json",
                "content-length": Buffer.byteLength(payload),
                "x-authrocket-api-key": key,
                "x-authrocket-realm": realm,
              },
            },
            (res) => {
              let body = "";
              res.setEncoding("utf8");
              res.on("data", (c: string) => (body += c));
              res.on("end", () => {
                if (signalled) answeredAfterSignal++;
                resolve({ status: res.statusCode ?? 0, body });
              });
              res.on("error", reject);
            },
          );
          req.on("finish", onSent);
          req.on("timeout", () => req.destroy(new Error("request timed out")));
          req.on("error", (err) => {
            onSent();
            reject(err);
          });
          req.end(payload);
        }),
      );
    }
    try {
      // All 20 bodies are in the server's socket buffers once every request has finished
      // sending. A marker request sent after that and answered proves the server has read
      // them (it accepts and reads in order), so all 20 are in flight, queued for argon2.
      await Promise.all(sent);
      const marker = await api(server, "GET", "/health");
      assert.equal(marker.status, 200, marker.text);
      signalled = true;
      server.child.kill("SIGTERM");
      const settled = await Promise.allSettled(responses);
      const problems = settled.flatMap((s, i) =>
        s.status === "rejected"
          ? [`#${i}: ${(s.reason as Error).message}`]
          : s.value.status < 200 || s.value.status > 299
            ? [`#${i}: ${s.value.status} ${s.value.body}`]
            : [],
      );
      assert.deepEqual(problems, [], "every in-flight request completes with 2xx");
      for (const s of settled) {
        if (s.status !== "fulfilled") continue;
        const body = JSON.parse(s.value.body) as { id?: string; object?: string };
        assert.match(body.id ?? "", /^usr_[0-9A-Za-z]{22}$/, s.value.body);
      }
      assert.ok(answeredAfterSignal > 0, "some requests were still in flight when SIGTERM was sent");
      const exit = await server.stop("SIGTERM", 20_000);
      assert.deepEqual(exit, { code: 0, signal: null }, `stderr:\n${server.stderr()}`);
    } finally {
      agent.destroy();
    }
  });
});

describe("RAMPART_ADMIN_KEY on a fresh database", () => {
  test("installs that key (it works), prints nothing, and creates no other key", async () => {
    const adminKey = makeAdminKey();
    const secret = adminKey.slice(adminKey.indexOf("-") + 1);
    const server = await startServer({ env: { RAMPART_ADMIN_KEY: adminKey } });
    const res = await api(server, "GET", "/v1/realms", { key: adminKey });
    assert.equal(res.status, 200, res.text);
    const bearer = await api(server, "GET", "/v1/realms", { headers: { authorization: `Bearer ${adminKey}` } });
    assert.equal(bearer.status, 200, bearer.text);
    const exit = await server.stop("SIGTERM");
    assert.deepEqual(exit, { code: 0, signal: null }, server.stderr());
    const out = server.stdout() + server.stderr();
    assert.equal((out.match(/ko_[0-9A-Za-z]{22}-[0-9A-Za-z]{32,}/g) ?? []).length, 0, `no key printed:\n${out}`);
    assert.equal(occurrences(out, secret), 0, "the secret is neither printed nor logged");
    assert.ok(/org_[0-9A-Za-z]{22}/.test(out), `the account id is logged:\n${out}`);

    const list = await runCli(["keys", "list"], { RAMPART_DB: server.dbPath });
    assert.equal(list.code, 0, list.stderr);
    const ids = list.stdout.match(/ko_[0-9A-Za-z]{22}/g) ?? [];
    assert.deepEqual(ids, [adminKey.slice(0, adminKey.indexOf("-"))], `exactly the installed key:\n${list.stdout}`);
  });
});

describe("configuration errors stop start-up with one line naming the setting", { concurrency: true }, () => {
  const cases: { name: string; env: Record<string, string>; setting: string }[] = [
    { name: "malformed RAMPART_ADMIN_KEY", env: { RAMPART_ADMIN_KEY: "ko_tooShort-notakey!" }, setting: "RAMPART_ADMIN_KEY" },
    { name: "bad port RAMPART_HTTP_PORT=70000", env: { RAMPART_HTTP_PORT: "70000" }, setting: "RAMPART_HTTP_PORT" },
    { name: "unwritable RAMPART_DB under a file", env: { RAMPART_DB: "/dev/null/x.db" }, setting: "RAMPART_DB" },
  ];
  for (const c of cases) {
    test(c.name, async () => {
      const r = await runServerToExit(c.env);
      assert.equal(r.signal, null, `exited by itself, not by ${r.signal}`);
      assert.notEqual(r.code, 0, "non-zero exit");
      assert.notEqual(r.code, null);
      const lines = r.stderr.split("\n").filter((l) => l.trim() !== "");
      assert.equal(lines.length, 1, `exactly one line on stderr:\n${r.stderr}`);
      assert.ok(lines[0]!.includes(c.setting), `the line names ${c.setting}: ${lines[0]}`);
      assert.ok(!/\n\s+at /.test(r.stderr + r.stdout), "no stack trace");
      assert.equal((r.stdout.match(/ko_[0-9A-Za-z]{22}-/g) ?? []).length, 0, `no key generated/printed:\n${r.stdout}`);
    });
  }
});
