/**
 * HTTP helper processes (bin/http_helpers.ts) on a real server: a helper answers reads on
 * the primary's listener and sees the primary's writes at once, requests that write are
 * answered by the primary, and helpers never outlive the primary. Which process answers a new connection is the
 * kernel's choice, so the tests freeze one process (SIGSTOP) to make the other answer.
 */
import assert from "node:assert/strict";
import { request } from "node:http";
import { after, describe, test } from "node:test";
import { ScalePolicy } from "../bin/http_helpers.ts";
import { cleanupTempDirs, killAll, makeAdminKey, sleep, startServer, type ServerProcess } from "./helpers/process.ts";

after(async () => {
  await killAll();
  cleanupTempDirs();
});

interface Answer {
  status: number;
  body: Record<string, unknown>;
  requestId: string;
}

/** One request on a connection of its own (so the kernel picks a process for it). */
function once(server: ServerProcess, method: string, path: string, headers: Record<string, string>, body?: unknown): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const req = request(
      `${server.url}${path}`,
      { method, agent: false, headers: { ...headers, ...(payload ? { "content-type": "application/json" } : {}) }, timeout: 10_000 },
      (res) => {
        let text = "";
        res.setEncoding("utf8").on("data", (c: string) => (text += c));
        res.on("end", () =>
          resolve({
            status: res.statusCode ?? 0,
            body: text ? (JSON.parse(text) as Record<string, unknown>) : {},
            requestId: String(res.headers["x-request-id"]),
          }),
        );
      },
    );
    req.on("timeout", () => req.destroy(new Error(`${method} ${path}: no answer within 10 s`)));
    req.on("error", reject);
    req.end(payload);
  });
}

async function helperPid(server: ServerProcess): Promise<number> {
  for (let i = 0; i < 150; i++) {
    const line = server.logLines().find((l) => l.msg === "HTTP helper process serving");
    if (line) return line.helper_pid as number;
    await sleep(100);
  }
  throw new Error(`no helper started\n${server.stdout()}\n${server.stderr()}`);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function gone(pid: number, ms: number): Promise<boolean> {
  for (let i = 0; i < ms / 100; i++) {
    if (!alive(pid)) return true;
    await sleep(100);
  }
  return !alive(pid);
}

describe("HTTP helper processes", () => {
  test("a helper reads on the same port, sees the primary's writes at once, hands writes to the primary; SIGTERM stops both", async () => {
    const key = makeAdminKey();
    const server = await startServer({ env: { RAMPART_ADMIN_KEY: key, RAMPART_HTTP_PROCESSES: "2", RAMPART_HTTP_SCALING: "always" } });
    const helper = await helperPid(server);
    const primary = server.child.pid!;
    const admin = { "x-authrocket-api-key": key };
    const realm = (await once(server, "POST", "/v1/realms", admin, { realm: { name: "helpers", session_type: "managed" } })).body.id as string;
    const headers = { ...admin, "x-authrocket-realm": realm };
    assert.equal((await once(server, "POST", "/v1/users", headers, { user: { username: "kim", password: "correct horse battery" } })).status, 201);
    const login = await once(server, "POST", "/v1/users/kim/authenticate", headers, { password: "correct horse battery" });
    assert.equal(login.status, 200);
    const token = login.body.token as string;
    /** Starts a request with `frozen` stopped, checks it waits, then lets `frozen` run. */
    const waitsFor = async (frozen: number, start: () => Promise<Answer>): Promise<Answer> => {
      process.kill(frozen, "SIGSTOP");
      let settled = false;
      const pending = start().finally(() => (settled = true));
      await sleep(1500);
      process.kill(frozen, "SIGCONT");
      assert.equal(settled, false, "it waited for the frozen primary");
      return pending;
    };
    try {
      // Only the helper can answer: reads are its own (and it caches the session).
      process.kill(primary, "SIGSTOP");
      assert.equal((await once(server, "GET", "/v1/users/kim", headers)).body.username, "kim");
      assert.equal((await once(server, "GET", `/v1/sessions/${token}`, headers)).status, 200);
      process.kill(primary, "SIGCONT");

      // Only the primary can answer: it logs the session out.
      process.kill(helper, "SIGSTOP");
      assert.equal((await once(server, "DELETE", `/v1/sessions/${token}`, headers)).status, 204);
      process.kill(helper, "SIGCONT");

      // The helper again: the primary's logout is visible at once.
      process.kill(primary, "SIGSTOP");
      assert.equal((await once(server, "GET", `/v1/sessions/${token}`, headers)).status, 404);
      process.kill(primary, "SIGCONT");

      // Writes and logins reaching the helper are answered by the primary (one writer, one
      // hashing pool): with the primary frozen they wait, then complete, under one request id
      // in both processes' logs.
      const created = await waitsFor(primary, () => once(server, "POST", "/v1/users", headers, { user: { username: "lee" } }));
      assert.equal(created.status, 201);
      const logins = await waitsFor(primary, () => once(server, "POST", "/v1/users/kim/authenticate", headers, { password: "correct horse battery" }));
      assert.equal(logins.status, 200);
      const linesOf = (id: string) => server.logLines().filter((l) => l.request_id === id);
      assert.ok(
        linesOf(created.requestId).some((l) => l.role === "http-helper") && linesOf(created.requestId).some((l) => l.role === undefined),
        "both processes log the forwarded request under the id the client got",
      );
    } finally {
      for (const pid of [primary, helper]) if (alive(pid)) process.kill(pid, "SIGCONT");
    }
    const exit = await server.stop("SIGTERM");
    assert.equal(exit.code, 0, server.stderr());
    assert.ok(await gone(helper, 5000), "the helper exits with the primary");
  });

  test("what a helper answers is counted in the primary's metrics, and /metrics answers through a helper", async () => {
    const key = makeAdminKey();
    const server = await startServer({ env: { RAMPART_ADMIN_KEY: key, RAMPART_HTTP_PROCESSES: "2", RAMPART_HTTP_SCALING: "always" } });
    await helperPid(server);
    const primary = server.child.pid!;
    /** The text of GET /metrics on a connection of its own. */
    const metricsText = (): Promise<string> =>
      new Promise((resolve, reject) => {
        const req = request(`${server.url}/metrics`, { agent: false, timeout: 10_000 }, (res) => {
          let text = "";
          res.setEncoding("utf8").on("data", (c: string) => (text += c));
          res.on("end", () => (res.statusCode === 200 ? resolve(text) : reject(new Error(`/metrics: ${res.statusCode} ${text}`))));
        });
        req.on("timeout", () => req.destroy(new Error("/metrics: no answer within 10 s")));
        req.on("error", reject);
        req.end();
      });
    const refused = /rampart_http_requests_total\{route="\/v1\/users\/:id",method="GET",status="403"\} (\d+)/;
    try {
      // Only the helper can answer these (no API key: 403, nothing to set up).
      process.kill(primary, "SIGSTOP");
      for (let i = 0; i < 3; i++) assert.equal((await once(server, "GET", "/v1/users/nobody", {})).status, 403);
      // The helper asks the frozen primary for the text, which it gets once the primary runs.
      const scrape = metricsText();
      await sleep(300);
      process.kill(primary, "SIGCONT");
      await scrape;
      // The helper sends its observations once a second.
      let counted: string | undefined;
      for (let i = 0; i < 30 && counted === undefined; i++) {
        await sleep(200);
        counted = refused.exec(await metricsText())?.[1];
      }
      assert.equal(counted, "3", "the helper's three answers are counted where /metrics is rendered");
    } finally {
      if (alive(primary)) process.kill(primary, "SIGCONT");
    }
    assert.equal((await server.stop("SIGTERM")).code, 0, server.stderr());
  });

  test("a helper whose primary is killed answers what waited for it with an error and exits", async () => {
    const key = makeAdminKey();
    const server = await startServer({ env: { RAMPART_ADMIN_KEY: key, RAMPART_HTTP_PROCESSES: "2", RAMPART_HTTP_SCALING: "always" } });
    const helper = await helperPid(server);
    const primary = server.child.pid!;
    // A create reaching the helper waits for the frozen primary, which then dies.
    process.kill(primary, "SIGSTOP");
    const pending = once(server, "POST", "/v1/realms", { "x-authrocket-api-key": key }, { realm: { name: "orphan" } });
    await sleep(500);
    await server.stop("SIGKILL");
    const answer = await pending;
    assert.equal(answer.status, 500, "a clear failure, not a hang");
    assert.ok(await gone(helper, 10_000), "no orphaned helper");
  });

  test("with RAMPART_HTTP_SCALING=always a helper that dies is replaced", async () => {
    const server = await startServer({ env: { RAMPART_ADMIN_KEY: makeAdminKey(), RAMPART_HTTP_PROCESSES: "2", RAMPART_HTTP_SCALING: "always" } });
    const first = await helperPid(server);
    process.kill(first, "SIGKILL");
    let second: number | undefined;
    for (let i = 0; i < 100 && second === undefined; i++) {
      await sleep(100);
      second = server
        .logLines()
        .filter((l) => l.msg === "HTTP helper process serving")
        .map((l) => l.helper_pid as number)
        .find((pid) => pid !== first);
    }
    assert.ok(second !== undefined && alive(second), "a new helper serves");
    const exit = await server.stop("SIGTERM");
    assert.equal(exit.code, 0);
    assert.ok(await gone(second, 5000));
  });

  test("RAMPART_HTTP_PROCESSES=1 starts no helper, whatever the scaling", async () => {
    const server = await startServer({ env: { RAMPART_ADMIN_KEY: makeAdminKey(), RAMPART_HTTP_PROCESSES: "1", RAMPART_HTTP_SCALING: "always" } });
    await sleep(1000);
    assert.equal(server.logLines().filter((l) => String(l.msg).includes("helper")).length, 0);
    await server.stop();
  });
});

/** A sample with `utilization` and, by default, no writes. */
const load = (utilization: number, writeShare = 0) => ({ utilization, writeShare });

describe("ScalePolicy", () => {
  test("starts a helper after a busy spell, one per spell, never beyond the maximum", () => {
    const policy = new ScalePolicy({ busyAt: 0.85, busyForMs: 1000, idleBelow: 0.2, idleForMs: 30_000 });
    assert.equal(policy.observe(load(0.9), 0, 0, 2), undefined);
    assert.equal(policy.observe(load(0.5), 500, 0, 2), undefined, "a dip ends the spell");
    assert.equal(policy.observe(load(0.9), 750, 0, 2), undefined);
    assert.equal(policy.observe(load(0.95), 1750, 0, 2), "start");
    assert.equal(policy.observe(load(0.95), 2000, 1, 2), undefined, "the next one needs a fresh spell");
    assert.equal(policy.observe(load(0.95), 3000, 1, 2), "start");
    assert.equal(policy.observe(load(0.99), 5000, 2, 2), undefined);
    assert.equal(policy.observe(load(0.99), 9000, 2, 2), undefined, "at the maximum");
  });

  test("stops a helper after a long idle spell, and only when one runs", () => {
    const policy = new ScalePolicy({ idleBelow: 0.2, idleForMs: 30_000 });
    assert.equal(policy.observe(load(0.1), 0, 0, 1), undefined);
    assert.equal(policy.observe(load(0.1), 40_000, 0, 1), undefined, "nothing to stop");
    assert.equal(policy.observe(load(0.1), 41_000, 1, 1), "stop");
    assert.equal(policy.observe(load(0.1), 42_000, 1, 1), undefined);
    assert.equal(policy.observe(load(0.3), 50_000, 1, 1), undefined, "load ends the spell");
    assert.equal(policy.observe(load(0.1), 60_000, 1, 1), undefined);
    assert.equal(policy.observe(load(0.1), 90_000, 1, 1), "stop");
  });
  test("a write-bound load starts no helper and stops a running one after a second", () => {
    const policy = new ScalePolicy({ busyAt: 0.85, busyForMs: 300, writeBoundAbove: 0.5, writeBoundForMs: 1000 });
    assert.equal(policy.observe(load(0.95, 0.9), 0, 0, 1), undefined);
    assert.equal(policy.observe(load(0.95, 0.9), 2000, 0, 1), undefined, "busy with writes: no helper");
    assert.equal(policy.observe(load(0.95, 0.2), 2100, 0, 1), undefined);
    assert.equal(policy.observe(load(0.95, 0.2), 2400, 0, 1), "start", "busy with reads: a helper");
    assert.equal(policy.observe(load(0.6, 0.8), 3000, 1, 1), undefined);
    assert.equal(policy.observe(load(0.6, 0.8), 4000, 1, 1), "stop", "writes took over");
  });
});
