/**
 * Core's dependencies on Deno 2: `node:sqlite`'s DatabaseSync as the SQLite driver (it meets
 * core's SqliteDatabase port as it is: `get` gives undefined for no row, `run` gives
 * {changes}), and the Web Crypto test hasher.
 */
import { DatabaseSync } from "node:sqlite";
import type { SqliteDatabase } from "@rampart/core";
import { runtimeRampart, type OpenDriver } from "./runtime_rampart.ts";

/** Deno's SQLite driver on a file. */
export const denoSqlite: OpenDriver = (path, mode): SqliteDatabase => new DatabaseSync(path, { readOnly: mode === "readonly" });

/** Opens a Rampart for the contract cases on Deno. */
export const openDenoRampart = runtimeRampart("deno", denoSqlite);
