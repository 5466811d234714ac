/**
 * The slice of each runtime's built-in SQLite module that the adapters beside this file use,
 * typed after the runtimes' own declarations so tsc can check the adapters with Node 20's
 * types (which have neither module). Only this folder's tsconfig sees these declarations.
 */

declare module "node:sqlite" {
  /** What node:sqlite binds (Deno 2 implements Node's node:sqlite). */
  type SupportedValueType = null | number | bigint | string | ArrayBufferView;

  export interface StatementSync {
    run(...params: SupportedValueType[]): { changes: number | bigint; lastInsertRowid: number | bigint };
    /** A row object, or undefined when there is none. */
    get(...params: SupportedValueType[]): Record<string, unknown> | undefined;
    all(...params: SupportedValueType[]): Record<string, unknown>[];
  }

  export class DatabaseSync {
    constructor(path: string, options?: { open?: boolean; readOnly?: boolean; enableForeignKeyConstraints?: boolean; timeout?: number });
    prepare(sql: string): StatementSync;
    exec(sql: string): void;
    close(): void;
  }
}

declare module "bun:sqlite" {
  type SQLQueryBindings = null | number | bigint | string | boolean | NodeJS.TypedArray;

  export interface Changes {
    changes: number;
    lastInsertRowid: number | bigint;
  }

  export class Statement {
    run(...params: SQLQueryBindings[]): Changes;
    /** A row object, or null (not undefined) when there is none. */
    get(...params: SQLQueryBindings[]): Record<string, unknown> | null;
    all(...params: SQLQueryBindings[]): Record<string, unknown>[];
  }

  export class Database {
    constructor(filename?: string, options?: { readonly?: boolean; create?: boolean; readwrite?: boolean; strict?: boolean; safeIntegers?: boolean });
    prepare(sql: string): Statement;
    exec(sql: string, ...params: SQLQueryBindings[]): Changes;
    close(throwOnError?: boolean): void;
  }
}
