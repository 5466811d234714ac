/** The storage contract (test/contract/storage_cases.ts) on Node's driver, better-sqlite3. */
import Database from "better-sqlite3";
import type { SqliteDatabase } from "@rampart/core";
import { storageContract } from "./contract/storage_cases.ts";

storageContract("better-sqlite3", (path) => new Database(path) as unknown as SqliteDatabase);
