/**
 * Opens a Rampart for the contract cases on any runtime, given that runtime's SQLite driver:
 * a fresh file in a temp folder, the Web Crypto test hasher, and an admin key. Used by the
 * Deno and Bun adapters beside this file (Node's is test/helpers/rampart.ts).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openRampart, type SqliteDatabase } from "@rampart/core";
import type { ContractRampart, ContractOpenOptions, OpenContractRampart } from "../contract/open.ts";
import { pbkdf2TestHasher } from "./pbkdf2_test_hasher.ts";

/** Opens the runtime's SQLite on `path`, read-write (created) or read-only. */
export type OpenDriver = (path: string, mode: "readwrite" | "readonly") => SqliteDatabase;

/** An OpenContractRampart over the runtime's driver. */
export function runtimeRampart(runtime: string, driver: OpenDriver): OpenContractRampart {
  return async (options: ContractOpenOptions): Promise<ContractRampart> => {
    const dir = mkdtempSync(join(tmpdir(), `rampart-${runtime}-`));
    const path = join(dir, "rampart.db");
    const rampart = openRampart({ synchronous: "NORMAL", ...options, database: driver(path, "readwrite"), hasher: pbkdf2TestHasher() });
    const boot = await rampart.bootstrap();
    if (!boot) throw new Error("bootstrap did not create a key");
    let reader: SqliteDatabase | undefined;
    return {
      rampart,
      adminKey: boot.key,
      sqlite: () => (reader ??= driver(path, "readonly")),
      async cleanup() {
        reader?.close();
        await rampart.close();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  };
}
