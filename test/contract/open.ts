/**
 * How the contract cases open a Rampart, neutral to the JavaScript runtime: each runtime
 * supplies its own SQLite driver and password hasher (Node: test/helpers/rampart.ts; Deno and
 * Bun: test/runtimes/). Nothing here may import a runtime-specific module statically.
 */
import type { OpenOptions, OpenRampart, SqliteDatabase } from "@rampart/core";

/** An open Rampart on a fresh database with an admin key, as the contract cases use it. */
export interface ContractRampart {
  rampart: OpenRampart;
  adminKey: string;
  /** A second, read-only connection to the same file through the runtime's own driver: what is durable. */
  sqlite(): SqliteDatabase;
  /** Closes everything and removes the database. */
  cleanup(): Promise<void>;
}

/** openRampart's options without the injected driver and hasher (the runtime supplies those). */
export type ContractOpenOptions = Partial<Omit<OpenOptions, "database" | "hasher">>;

/** Opens a fresh Rampart for one contract suite. */
export type OpenContractRampart = (options: ContractOpenOptions) => Promise<ContractRampart>;

/** Node's: better-sqlite3 and argon2id, imported only when used so Deno and Bun never load them. */
export const openNodeRampart: OpenContractRampart = async (options) => {
  const t = await (await import("../helpers/rampart.ts")).openTestRampart(options);
  // better-sqlite3's overloaded typings are wider than the structural port; the calls match.
  return { ...t, sqlite: () => t.sqlite() as unknown as SqliteDatabase };
};
