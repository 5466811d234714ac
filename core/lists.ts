/**
 * Keyset pagination shared by every list: `after` (id of the last item seen), `max_results`
 * (1–1000, default 100), `sort` from an allow-list, `direction`. A page costs the same at any
 * depth: the `after` row's sort value is read by primary key and the page query seeks an index.
 */
import type { Params } from "./context.ts";
import type { SqlValue } from "./deps.ts";
import { CoreError, Problems } from "./errors.ts";
import { optEnum, optInt } from "./params.ts";
import type { Sql } from "./storage/sqlite.ts";

/** How a list may be ordered: allowed sort names → column (constants), and the defaults. */
export interface ListOrder {
  sorts: Record<string, string>;
  defaultSort: string;
  defaultDirection: "asc" | "desc";
}

/** The most common order: by id (creation order), oldest first. */
export const BY_ID: ListOrder = Object.freeze({ sorts: { id: "id" }, defaultSort: "id", defaultDirection: "asc" });

/** The query a page is read from. */
export interface ListSpec {
  /** Table name (a constant from core, never from input). */
  table: string;
  /** SQL conditions (with `?`) and their args, already validated. */
  where: string[];
  args: SqlValue[];
  /** Extra select list (e.g. computed columns), appended after `t.*`. */
  select?: string;
  selectArgs?: SqlValue[];
}

export interface PageRequest {
  max: number;
  after: string | undefined;
  sortColumn: string;
  direction: "asc" | "desc";
}

/** Validates the list params common to every list. */
export function readPageRequest(params: Params, spec: ListOrder): PageRequest {
  const p = new Problems();
  const max = optInt(params, "max_results", 1, 1000, p) ?? 100;
  const sortName = optEnum(params, "sort", Object.keys(spec.sorts), p) ?? spec.defaultSort;
  const direction = optEnum(params, "direction", ["asc", "desc"] as const, p) ?? spec.defaultDirection;
  const after = params.after;
  if (after !== undefined && after !== null && after !== "" && typeof after !== "string") p.add("after", "must be an id");
  p.throwIfAny();
  return { max, after: typeof after === "string" && after !== "" ? after : undefined, sortColumn: spec.sorts[sortName]!, direction };
}

/** Runs the page query; returns rows (at most `max`) and whether more exist. */
export function listPage<T>(sql: Sql, spec: ListSpec, page: PageRequest): { rows: T[]; more: boolean } {
  const where = [...spec.where];
  const args = [...spec.args];
  const op = page.direction === "asc" ? ">" : "<";
  if (page.after !== undefined) {
    if (page.sortColumn === "id") {
      where.push(`t.id ${op} ?`);
      args.push(page.after);
    } else {
      const cond = spec.where.length ? ` AND ${spec.where.join(" AND ")}` : "";
      const anchor = sql.get<{ v: SqlValue }>(`SELECT t.${page.sortColumn} AS v FROM ${spec.table} t WHERE t.id = ?${cond}`, page.after, ...spec.args);
      if (!anchor) throw new CoreError("validation_failed", { after: ["is not the id of an item in this list"] });
      where.push(`(t.${page.sortColumn} ${op} ? OR (t.${page.sortColumn} = ? AND t.id ${op} ?))`);
      args.push(anchor.v, anchor.v, page.after);
    }
  }
  const dir = page.direction.toUpperCase();
  const order = page.sortColumn === "id" ? `t.id ${dir}` : `t.${page.sortColumn} ${dir}, t.id ${dir}`;
  const select = spec.select ? `t.*, ${spec.select}` : "t.*";
  const text = `SELECT ${select} FROM ${spec.table} t${where.length ? ` WHERE ${where.join(" AND ")}` : ""} ORDER BY ${order} LIMIT ?`;
  const rows = sql.all<T>(text, ...(spec.selectArgs ?? []), ...args, page.max + 1);
  const more = rows.length > page.max;
  if (more) rows.pop();
  return { rows, more };
}
