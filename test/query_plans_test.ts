/**
 * Hot reads stay index reads: the statements core runs for the calls behind the benchmark's
 * scenarios (and their expansions) are planned without temporary sorts or table scans. A
 * missing or wrongly ordered index shows up here as the plan SQLite chose, not as a slowdown
 * somebody has to notice.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { openRampart, type CallContext, type SqliteDatabase } from "@rampart/core";
import { nodeDeps } from "@rampart/core/adapters/node";

test("the statements behind session checks, key checks, logins and user/org expansions use indexes in order", async () => {
  const dir = mkdtempSync(join(tmpdir(), "rampart-plans-"));
  const deps = nodeDeps({ path: join(dir, "rampart.db"), synchronous: "NORMAL" });
  const db = deps.database as SqliteDatabase;
  const statements = new Set<string>();
  const prepare = db.prepare.bind(db);
  let recording = false;
  db.prepare = ((sql: string) => {
    if (recording) statements.add(sql);
    return prepare(sql);
  }) as typeof db.prepare;
  const rampart = openRampart(deps);
  try {
    const boot = await rampart.bootstrap();
    const admin: CallContext = { requestId: "rq_plans", credentials: { apiKey: boot!.key } };
    const realm = (await rampart.realms.create(admin, { realm: { name: "plans" } })) as { id: string };
    const ctx: CallContext = { ...admin, realmId: realm.id };
    const alice = (await rampart.users.create(ctx, { user: { username: "alice", password: "correct horse battery" } })) as { id: string };
    const api = (await rampart.users.create(ctx, { user: { user_type: "api" } })) as { id: string };
    const key = (await rampart.credentials.create(ctx, { credential: { user_id: api.id, credential_type: "api_key" } })) as { api_key: string };
    const org = (await rampart.orgs.create(ctx, { org: { name: "acme" } })) as { id: string };
    await rampart.memberships.create(ctx, { membership: { user_id: alice.id, org_id: org.id, permissions: ["admin"] } });

    // Prepared statements are cached: record from a fresh cache's point of view by running
    // each call once after recording starts (the cache only holds what ran before).
    recording = true;
    const login = (await rampart.users.authenticate(ctx, { id: "alice", password: "correct horse battery" })) as { token: string };
    await rampart.sessions.get(ctx, { id: login.token });
    await rampart.users.authenticateKey(ctx, { api_key: key.api_key });
    await rampart.users.get(ctx, { id: alice.id, expands: "memberships" });
    await rampart.orgs.get(ctx, { id: org.id, expands: "memberships" });
    await rampart.memberships.list(ctx, { org_id: org.id });
    await rampart.memberships.list(ctx, { user_id: alice.id });
    await rampart.sessions.list(ctx, { user_id: alice.id });
    recording = false;

    assert.ok(statements.size >= 4, `statements recorded: ${statements.size}`);
    const bad: string[] = [];
    const plans = new Map<string, string[]>();
    for (const sql of statements) {
      if (!/^\s*(SELECT|WITH|UPDATE|DELETE)/i.test(sql)) continue;
      const params = Array<null>((sql.match(/\?/g) ?? []).length).fill(null);
      const plan = (prepare(`EXPLAIN QUERY PLAN ${sql}`).all(...params) as { detail: string }[]).map((row) => row.detail);
      plans.set(sql, plan);
      // Scanning json_each is walking the list of ids passed in, not a table.
      if (plan.some((d) => /TEMP B-TREE|^SCAN (?!CONSTANT|json_each)/.test(d))) bad.push(`${plan.join(" | ")}\n  ${sql.replace(/\s+/g, " ")}`);
    }
    assert.deepEqual(bad, [], `statements with a sort or a scan:\n${bad.join("\n")}`);
    // Each login drops the user's expired sessions: a seek on both columns, not a walk over
    // every live session of the user (thousands for a user who logs in often).
    const expired = [...plans].find(([sql]) => /^DELETE FROM sessions WHERE user_id = \? AND expires_at <= \?/.test(sql));
    assert.ok(expired, "a login drops expired sessions");
    assert.match(expired[1].join(" | "), /user_id=\? AND expires_at<\?/);
  } finally {
    await rampart.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
