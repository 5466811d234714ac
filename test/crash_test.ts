/**
 * security.md "Durability and faults": a crash (kill -9) at any moment loses no acknowledged
 * write and leaves `PRAGMA integrity_check` = ok. The server runs with the default
 * RAMPART_SYNCHRONOUS (FULL) and is SIGKILLed while user creates are still being sent.
 */
import assert from "node:assert/strict";
import { copyFileSync, existsSync } from "node:fs";
import { join } from "node:path";
import { after, test } from "node:test";
import Database from "better-sqlite3";
import { api, cleanupTempDirs, createRealm, killAll, makeAdminKey, makeTempDir, sleep, startServer } from "./helpers/process.ts";

after(async () => {
  await killAll();
  cleanupTempDirs();
});

const ACK_WINDOW_MS = 1500; // how long acknowledged writes go on before the kill
const MAX_PER_WORKER = 4000; // count bound of each writer loop
const WORKERS = 4; // one sequential writer plus a few in parallel

function integrityCheck(path: string): string {
  const db = new Database(path);
  try {
    return (db.pragma("integrity_check") as { integrity_check: string }[]).map((r) => r.integrity_check).join("; ");
  } finally {
    db.close();
  }
}

test("kill -9 during user creates loses no acknowledged user and leaves integrity_check ok", async (t) => {
  const key = makeAdminKey();
  const server = await startServer({ env: { RAMPART_ADMIN_KEY: key } });
  const realm = await createRealm(server, key);

  const acknowledged: string[] = [];
  const unexpected: string[] = [];
  let killed = false;
  let firstAckAt = 0;
  let inFlightAtKill = 0;
  let inFlight = 0;

  const writer = async (w: number): Promise<void> => {
    for (let i = 0; i < MAX_PER_WORKER && !killed; i++) {
      // Every 25th user also gets a password (a credential row in the same transaction).
      const user: Record<string, string> = { username: `crash-${w}-${i}`, email: `crash-${w}-${i}@example.com` };
      if (i % 25 === 0) user.password = "correct horse battery staple";
      inFlight++;
      try {
        const res = await fetch(`${server.url}/v1/users`, {
          method: "POST",
          headers: { "content-type": "application/json", "x-authrocket-api-key": key, "x-authrocket-realm": realm },
          body: JSON.stringify({ user }),
          signal: AbortSignal.timeout(10_000),
        });
        const text = await res.text();
        if (res.status === 201) {
          const id = (JSON.parse(text) as { id?: unknown }).id;
          if (typeof id === "string" && id.startsWith("usr_")) {
            acknowledged.push(id);
            if (firstAckAt === 0) firstAckAt = Date.now();
          } else unexpected.push(`201 without a user id: ${text}`);
        } else {
          unexpected.push(`${res.status}: ${text}`);
        }
      } catch (err) {
        // After the kill, connection errors are expected; before it they are a failure.
        if (!killed) unexpected.push(`request failed before the kill: ${(err as Error).message}`);
        return;
      } finally {
        inFlight--;
      }
    }
  };

  const writers = Array.from({ length: WORKERS }, (_, w) => writer(w));
  // Bounded wait: until writes have been acknowledged for ACK_WINDOW_MS (or 20 s at most).
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline && (firstAckAt === 0 || Date.now() - firstAckAt < ACK_WINDOW_MS) && unexpected.length === 0) {
    await sleep(25);
  }
  inFlightAtKill = inFlight;
  killed = true;
  const exit = await server.stop("SIGKILL", 10_000);
  await Promise.all(writers);

  assert.deepEqual(unexpected, [], "every create before the kill was acknowledged with 201");
  assert.equal(exit.signal, "SIGKILL", "the server died by SIGKILL");
  assert.ok(acknowledged.length > 0, "some writes were acknowledged before the kill");
  assert.ok(inFlightAtKill > 0, "requests were still being sent when the server was killed");
  t.diagnostic(`${acknowledged.length} creates acknowledged, ${inFlightAtKill} in flight at the kill`);

  // The crashed files as they are, checked on a copy so the restart recovers the original.
  const copyDir = makeTempDir();
  const copy = join(copyDir, "crashed.db");
  copyFileSync(server.dbPath, copy);
  if (existsSync(`${server.dbPath}-wal`)) copyFileSync(`${server.dbPath}-wal`, `${copy}-wal`);
  assert.equal(integrityCheck(copy), "ok", "integrity_check of the crashed database");

  const restarted = await startServer({ dbPath: server.dbPath, env: { RAMPART_ADMIN_KEY: key } });
  const missing: string[] = [];
  let next = 0;
  const reader = async (): Promise<void> => {
    while (next < acknowledged.length) {
      const id = acknowledged[next++]!;
      const res = await api(restarted, "GET", `/v1/users/${id}`, { key, realm });
      if (res.status !== 200 || (res.body as { id?: unknown }).id !== id) missing.push(`${id}: ${res.status} ${res.text}`);
    }
  };
  await Promise.all(Array.from({ length: 6 }, reader));
  assert.deepEqual(missing.slice(0, 20), [], `${missing.length} of ${acknowledged.length} acknowledged users are missing after the crash`);

  const stopped = await restarted.stop("SIGTERM");
  assert.deepEqual(stopped, { code: 0, signal: null }, restarted.stderr());
  assert.equal(integrityCheck(server.dbPath), "ok", "integrity_check after the restart");
});
