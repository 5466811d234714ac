/**
 * The storage contract: what core relies on from its SQLite port, written as a function of
 * the driver so every runtime's driver (better-sqlite3 on Node, node:sqlite on Deno,
 * bun:sqlite on Bun) runs the same checks. Runners: test/storage_contract_test.ts (Node) and
 * test/runtimes/contract_{deno,bun}.ts.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import type { SqliteDatabase } from "@rampart/core";
import { MIGRATIONS } from "../../core/storage/migrations.ts";
import { isUniqueViolation, SqliteStore } from "../../core/storage/sqlite.ts";

/** Opens the runtime's SQLite driver on a file path. */
export type DriverFactory = (path: string) => SqliteDatabase;

/** Registers the storage contract for one driver. */
export function storageContract(driver: string, open: DriverFactory): void {
  describe(`storage contract (${driver})`, () => {
    const fresh = (): { store: SqliteStore; path: string; done: () => void } => {
      const dir = mkdtempSync(join(tmpdir(), "rampart-store-"));
      const path = join(dir, "s.db");
      const store = new SqliteStore(open(path));
      return { store, path, done: () => (store.close(), rmSync(dir, { recursive: true, force: true })) };
    };

    test("opening applies every migration once and records it in user_version", () => {
      const { store, path, done } = fresh();
      assert.equal(store.get<{ user_version: number }>("PRAGMA user_version")?.user_version, MIGRATIONS.length);
      store.close();
      const again = new SqliteStore(open(path));
      assert.equal(again.get<{ user_version: number }>("PRAGMA user_version")?.user_version, MIGRATIONS.length);
      assert.equal(again.get<{ journal_mode: string }>("PRAGMA journal_mode")?.journal_mode, "wal");
      assert.equal(again.get<{ foreign_keys: number }>("PRAGMA foreign_keys")?.foreign_keys, 1);
      // 2 = MEMORY: the savepoints of group commits keep their sub-journals off the disk.
      assert.equal(again.get<{ temp_store: number }>("PRAGMA temp_store")?.temp_store, 2);
      again.close();
      done();
    });

    test("write() commits on return and rolls back everything on throw", () => {
      const { store, done } = fresh();
      store.writeSync((sql) => sql.run("INSERT INTO account (id, created_at) VALUES (?, ?)", "org_a", 1));
      assert.throws(() =>
        store.writeSync((sql) => {
          sql.run("INSERT INTO account (id, created_at) VALUES (?, ?)", "org_b", 1);
          throw new Error("boom");
        }),
      );
      assert.deepEqual(
        store.all<{ id: string }>("SELECT id FROM account ORDER BY id").map((r) => r.id),
        ["org_a"],
      );
      done();
    });

    test("a unique violation is recognised and leaves nothing written", () => {
      const { store, done } = fresh();
      store.writeSync((sql) => sql.run("INSERT INTO account (id, created_at) VALUES (?, ?)", "org_a", 1));
      let caught: unknown;
      try {
        store.writeSync((sql) => sql.run("INSERT INTO account (id, created_at) VALUES (?, ?)", "org_a", 2));
      } catch (err) {
        caught = err;
      }
      assert.equal(isUniqueViolation(caught), true);
      assert.equal(store.get<{ n: number }>("SELECT count(*) AS n FROM account")?.n, 1);
      done();
    });

    test("statements are prepared once and counted", () => {
      const { store, done } = fresh();
      const before = store.counter.count;
      for (let i = 0; i < 3; i++) store.get("SELECT 1");
      assert.equal(store.counter.count - before, 3);
      done();
    });

    test("a missing row reads as undefined, for every driver", () => {
      const { store, done } = fresh();
      assert.equal(store.get("SELECT id FROM account WHERE id = ?", "none"), undefined);
      done();
    });

    test("concurrent writes share one commit; each resolves only after it", async () => {
      const dir = mkdtempSync(join(tmpdir(), "rampart-store-"));
      const db = open(join(dir, "s.db"));
      let commits = 0;
      const counting: SqliteDatabase = {
        prepare: (text) => db.prepare(text),
        exec: (text) => {
          if (text === "COMMIT") commits++;
          return db.exec(text);
        },
        close: () => db.close(),
      };
      const store = new SqliteStore(counting);
      commits = 0;
      const writes = Array.from({ length: 10 }, (_, i) => store.write((sql) => sql.run("INSERT INTO account (id, created_at) VALUES (?, ?)", `org_${i}`, i)));
      assert.equal(store.get<{ n: number }>("SELECT count(*) AS n FROM account")?.n, 0, "nothing is visible before the commit");
      assert.deepEqual(await Promise.all(writes), Array(10).fill(1));
      assert.equal(commits, 1, "one COMMIT for the group");
      assert.equal(store.get<{ n: number }>("SELECT count(*) AS n FROM account")?.n, 10);
      store.close();
      rmSync(dir, { recursive: true, force: true });
    });

    test("a write that throws inside a group rolls back alone; the others commit", async () => {
      const { store, done } = fresh();
      const results = await Promise.allSettled([
        store.write((sql) => sql.run("INSERT INTO account (id, created_at) VALUES (?, ?)", "org_a", 1)),
        store.write((sql) => {
          sql.run("INSERT INTO account (id, created_at) VALUES (?, ?)", "org_b", 1);
          throw new Error("boom");
        }),
        store.write((sql) => sql.run("INSERT INTO account (id, created_at) VALUES (?, ?)", "org_a", 2)),
        store.write((sql) => sql.run("INSERT INTO account (id, created_at) VALUES (?, ?)", "org_c", 1)),
      ]);
      assert.deepEqual(
        results.map((r) => r.status),
        ["fulfilled", "rejected", "rejected", "fulfilled"],
      );
      assert.equal(isUniqueViolation((results[2] as PromiseRejectedResult).reason), true);
      assert.deepEqual(
        store.all<{ id: string }>("SELECT id FROM account ORDER BY id").map((r) => r.id),
        ["org_a", "org_c"],
      );
      done();
    });

    test("foreign keys cascade: deleting a realm deletes its users", () => {
      const { store, done } = fresh();
      store.writeSync((sql) => {
        sql.run(
          `INSERT INTO realms (id, name, state, custom, username_validation_human, require_unique_emails, api_key_policy, api_key_minutes, session_type, session_minutes, jwt_data, jwt_secret, created_at)
           VALUES ('rl_1', 'r', 'inactive', '{}', 'standard', 1, 'hash', 0, 'managed', 360, '[]', 'jsk', 1)`,
        );
        sql.run("INSERT INTO users (id, realm_id, user_type, state, username, custom, created_at) VALUES ('usr_1', 'rl_1', 'human', 'active', 'u', '{}', 1)");
        sql.run("DELETE FROM realms WHERE id = 'rl_1'");
      });
      assert.equal(store.get<{ n: number }>("SELECT count(*) AS n FROM users")?.n, 0);
      done();
    });
  });
}
