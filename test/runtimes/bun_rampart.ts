/**
 * Core's dependencies on Bun 1: `bun:sqlite`'s Database as the SQLite driver (it meets core's
 * SqliteDatabase port as it is: `get` gives null for no row, which core reads as no row; `run`
 * gives {changes}), and the Web Crypto test hasher.
 */
import { Database } from "bun:sqlite";
import type { SqliteDatabase } from "@rampart/core";
import { runtimeRampart, type OpenDriver } from "./runtime_rampart.ts";

/** Bun's SQLite driver on a file. */
export const bunSqlite: OpenDriver = (path, mode): SqliteDatabase =>
  mode === "readonly" ? new Database(path, { readonly: true }) : new Database(path, { create: true, readwrite: true });

/** Opens a Rampart for the contract cases on Bun. */
export const openBunRampart = runtimeRampart("bun", bunSqlite);
