/**
 * security.md "Webhook deliveries survive restarts": the server is killed (SIGKILL) after an
 * event committed but before its delivery completed; after a restart the delivery is sent
 * again and completes, signed, with the same event.
 */
import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import { createServer, type IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";
import { after, test } from "node:test";
import Database from "better-sqlite3";
import { api, cleanupTempDirs, createRealm, killAll, makeAdminKey, sleep, startServer } from "./helpers/process.ts";

after(async () => {
  await killAll();
  cleanupTempDirs();
});

test("kill -9 between commit and delivery: the delivery is sent after restart", async () => {
  // The receiver hangs at first (the delivery is in flight when the server dies), then answers.
  let answering = false;
  const received: { headers: IncomingMessage["headers"]; body: string }[] = [];
  const receiver = createServer((req, res) => {
    let body = "";
    req.setEncoding("utf8");
    req.on("data", (c: string) => (body += c));
    req.on("end", () => {
      received.push({ headers: req.headers, body });
      if (answering) res.writeHead(200).end();
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, "127.0.0.1", resolve));
  after(() => {
    receiver.closeAllConnections();
    receiver.close();
  });
  const destination = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;

  const key = makeAdminKey();
  const server = await startServer({ env: { RAMPART_ADMIN_KEY: key } });
  const realm = await createRealm(server, key);
  const hook = await api(server, "POST", "/v1/app_hooks", { key, body: { app_hook: { destination, event_type: ["user.created"] } } });
  assert.equal(hook.status, 201, hook.text);
  const { id: hookId, secret } = hook.body as { id: string; secret: string };
  const created = await api(server, "POST", "/v1/users", { key, realm, body: { user: { username: "survivor" } } });
  assert.equal(created.status, 201, created.text);

  for (let i = 0; i < 200 && received.length === 0; i++) await sleep(25);
  assert.equal(received.length, 1, "the first attempt reached the receiver");
  await server.stop("SIGKILL");

  const db = new Database(server.dbPath, { readonly: true });
  const pending = db.prepare("SELECT state, attempts FROM deliveries WHERE app_hook_id = ?").all(hookId) as { state: string; attempts: number }[];
  db.close();
  assert.deepEqual(pending, [{ state: "in_progress", attempts: 0 }], "the unfinished delivery is still pending on disk");

  answering = true;
  const restarted = await startServer({ dbPath: server.dbPath, env: { RAMPART_ADMIN_KEY: key } });
  for (let i = 0; i < 400 && received.length < 2; i++) await sleep(25);
  assert.equal(received.length, 2, "the delivery was sent again after the restart");
  const [first, second] = received as [(typeof received)[0], (typeof received)[0]];
  assert.equal(second.headers["x-rampart-delivery-id"], first.headers["x-rampart-delivery-id"], "the same delivery, so receivers can dedupe");
  assert.equal(JSON.parse(second.body).id, JSON.parse(first.body).id);
  const [, t, v1] = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(String(second.headers["x-rampart-signature"]))!;
  assert.equal(createHmac("sha256", secret).update(`${t}.${second.body}`).digest("hex"), v1);

  let state = "";
  for (let i = 0; i < 200 && state !== "completed"; i++) {
    const event = await api(restarted, "GET", `/v1/events/${String(second.headers["x-rampart-event-id"])}`, { key });
    state = ((event.body as { notifications: { state: string }[] }).notifications[0] ?? { state: "" }).state;
    if (state !== "completed") await sleep(25);
  }
  assert.equal(state, "completed");
  assert.equal((await restarted.stop("SIGTERM")).code, 0);
});
