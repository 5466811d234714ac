/** Opens a real Rampart on a fresh SQLite file in a temp folder, with an admin key. */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openRampart, type OpenRampart } from "@rampart/core";
import { nodeDeps, type NodeDepsOptions } from "@rampart/core/adapters/node";
import Database from "better-sqlite3";

export interface TestRampart {
  rampart: OpenRampart;
  adminKey: string;
  legacyKey: string;
  dir: string;
  path: string;
  /** A second, read-only connection to the same file: what is durable on disk. */
  sqlite(): Database.Database;
  /** Closes the database and removes the folder. */
  cleanup(): Promise<void>;
}

/** A fresh Rampart on a file database; `options` tune throttling, clock, etc. */
export async function openTestRampart(options: Partial<NodeDepsOptions> = {}): Promise<TestRampart> {
  const dir = mkdtempSync(join(tmpdir(), "rampart-test-"));
  const path = join(dir, "rampart.db");
  const rampart = openRampart(nodeDeps({ path, synchronous: "NORMAL", ...options }));
  const boot = await rampart.bootstrap();
  if (!boot) throw new Error("bootstrap did not create a key");
  let reader: Database.Database | undefined;
  return {
    rampart,
    adminKey: boot.key,
    legacyKey: boot.legacy_key,
    dir,
    path,
    sqlite() {
      reader ??= new Database(path, { readonly: true });
      return reader;
    },
    async cleanup() {
      reader?.close();
      await rampart.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
