/**
 * `npm run cli -- <command>`: operator commands that work on the database directly
 * (the server may be running; SQLite's WAL lets both use the file). Each command is one row
 * of COMMANDS: its usage, its arguments and options, and what it does.
 */
import { createReadStream, existsSync, statSync } from "node:fs";
import { createInterface } from "node:readline";
import { parseArgs } from "node:util";
import { CoreError, openRampart, type OpenRampart } from "@rampart/core";
import { nodeDeps } from "@rampart/core/adapters/node";
import Database from "better-sqlite3";

type Values = { permissions?: string; name?: string; realm?: string; force?: boolean };

interface Command {
  /** Positional argument names after the command words (all required). */
  args: string[];
  /** Options besides --help. */
  options: (keyof Values)[];
  help: string;
  run(db: () => OpenRampart, args: string[], values: Values): Promise<number | void>;
}

const DB_PATH = () => process.env.RAMPART_DB || "./data/rampart.db";

const COMMANDS: Record<string, Command> = {
  "keys create": {
    args: [],
    options: ["permissions", "name"],
    help: `Usage: npm run cli -- keys create [--permissions LIST] [--name NAME]

Creates a management API key and prints it once, in both accepted forms:
  X-Authrocket-Api-Key: ko_<id>-<secret>
  legacy pair X-Authrocket-Account: <account id> + X-Authrocket-Api-Key: key_<secret>

  --permissions   comma list of read, write, admin_realm (default: all three)
  --name          a label to recognise the key by`,
    async run(db, _args, values) {
      const permissions = values.permissions
        ?.split(",")
        .map((s) => s.trim())
        .filter(Boolean);
      if (permissions?.length === 0) die(`--permissions: name at least one of read, write, admin_realm\n\n${COMMANDS["keys create"]!.help}`);
      const rampart = db();
      const key = await rampart.keys.create({ ...(permissions ? { permissions } : {}), ...(values.name ? { name: values.name } : {}) });
      out(
        `Created ${String(key.id)} with permissions ${(key.permissions as string[]).join(", ")}. Shown once:\n` +
          `  X-Authrocket-Api-Key: ${String(key.key)}\n` +
          `  legacy pair: X-Authrocket-Account: ${rampart.accountId}  X-Authrocket-Api-Key: ${String(key.legacy_key)}\n`,
      );
    },
  },
  "keys list": {
    args: [],
    options: [],
    help: "Usage: npm run cli -- keys list\n\nLists every key's id, name, permissions and whether it is revoked. Secrets are never shown.",
    async run(db) {
      for (const k of await db().keys.list())
        out(`${String(k.id)}\t${(k.permissions as string[]).join(",")}\t${k.revoked_at ? "revoked" : "active"}\t${k.name ?? ""}\n`);
    },
  },
  "keys revoke": {
    args: ["key id"],
    options: [],
    help: "Usage: npm run cli -- keys revoke <ko_id>\n\nRevokes the key; a running server stops accepting it within 5 seconds.",
    async run(db, [id]) {
      await db().keys.revoke(id!);
      out(`Revoked ${id}\n`);
    },
  },
  "realms list": {
    args: [],
    options: [],
    help: "Usage: npm run cli -- realms list\n\nLists every realm: id, state, name.",
    async run(db) {
      const rampart = db();
      const ctx = rampart.trustedContext();
      let after: string | undefined;
      for (;;) {
        const page = (await rampart.realms.list(ctx, { max_results: 1000, ...(after ? { after } : {}) })) as {
          collection: { id: string; state: string; name: string }[];
          more_results: boolean;
        };
        for (const r of page.collection) out(`${r.id}\t${r.state}\t${r.name}\n`);
        if (!page.more_results) break;
        after = page.collection.at(-1)!.id;
      }
    },
  },
  "users import": {
    args: ["file"],
    options: ["realm"],
    help: `Usage: npm run cli -- users import <file.jsonl | -> [--realm rl_…]

Imports users from JSON lines, one user per line:
  {"realm_id": "rl_…", "username": "ann", "email": "ann@example.com", "first_name": "Ann",
   "last_name": "Lee", "state": "active", "reference": "crm-7", "custom": {},
   "password_hash": "$2b$12$…"}
realm_id may be left out when --realm is given. password_hash may be bcrypt ($2a/$2b/$2y),
scrypt ($scrypt$ln=…), PBKDF2 ($pbkdf2-sha256$…, passlib or Django form) or argon2 (PHC),
within safe cost bounds; it is verified at login and re-hashed with argon2id then.
Each user is created (with its user.created event) in its own transaction; bad lines are
reported with their line number and skipped. Exits 1 when any line failed.`,
    async run(db, [file], values) {
      if (file !== "-" && !existsSync(file!)) die(`users import: no such file "${file}"`);
      const rampart = db();
      const ctx = rampart.trustedContext();
      const lines = createInterface({ input: file === "-" ? process.stdin : createReadStream(file!), crlfDelay: Infinity });
      let n = 0;
      let imported = 0;
      let failed = 0;
      for await (const line of lines) {
        n++;
        if (line.trim() === "") continue;
        try {
          let record: unknown;
          try {
            record = JSON.parse(line);
          } catch {
            throw new Error("not a JSON object");
          }
          if (typeof record !== "object" || record === null || Array.isArray(record)) throw new Error("not a JSON object");
          const { realm_id, ...user } = record as Record<string, unknown>;
          const realm = realm_id ?? values.realm;
          if (realm === undefined) throw new Error("realm_id is missing (give it on the line or with --realm)");
          const created = (await rampart.importUser(ctx, { realm_id: realm, user })) as { id: string; username: string };
          imported++;
          out(`line ${n}: imported ${created.id} ${created.username}\n`);
        } catch (err) {
          failed++;
          process.stderr.write(`line ${n}: ${err instanceof CoreError ? describe(err) : (err as Error).message}\n`);
        }
      }
      out(`imported ${imported}, failed ${failed}\n`);
      return failed > 0 ? 1 : 0;
    },
  },
  backup: {
    args: ["file"],
    options: ["force"],
    help: `Usage: npm run cli -- backup <file> [--force]

Copies the database to <file> with SQLite's online backup (the server may keep running),
showing progress, then checks the copy with PRAGMA integrity_check. Refuses to overwrite an
existing file unless --force is given.`,
    async run(_db, [file], values) {
      if (existsSync(file!) && !values.force) die(`backup: "${file}" exists; add --force to overwrite it`);
      if (!existsSync(DB_PATH())) die(`RAMPART_DB: no database at "${DB_PATH()}"`);
      const source = new Database(DB_PATH(), { readonly: true, fileMustExist: true });
      let pages = 0;
      try {
        await source.backup(file!, {
          progress({ totalPages, remainingPages }) {
            pages = totalPages;
            progressBar(totalPages - remainingPages, totalPages);
            return 200; // pages per step: small steps let a running server write in between
          },
        });
      } catch (err) {
        die(`backup: could not write "${file}": ${(err as Error).message}`);
      } finally {
        source.close();
      }
      progressBar(pages, pages);
      process.stderr.write("\n");
      const copy = new Database(file!, { readonly: true });
      const check = (copy.pragma("integrity_check") as { integrity_check: string }[]).map((r) => r.integrity_check).join("; ");
      copy.close();
      if (check !== "ok") die(`backup: the copy failed its integrity check: ${check}`);
      out(`Backed up ${DB_PATH()} to ${file} (${statSync(file!).size} bytes, integrity ok)\n`);
    },
  },
  migrate: {
    args: [],
    options: [],
    help: "Usage: npm run cli -- migrate\n\nApplies any pending schema migrations (the server also does at start) and prints the schema version.",
    async run(db) {
      db();
      const conn = new Database(DB_PATH(), { readonly: true });
      const version = conn.pragma("user_version", { simple: true });
      conn.close();
      out(`Schema version ${String(version)}: up to date\n`);
    },
  },
};

const USAGE = `Usage: npm run cli -- <command> [options]

Commands:
${Object.keys(COMMANDS)
  .map((name) => `  ${[name, ...COMMANDS[name]!.args.map((a) => `<${a.replace(/ /g, "_")}>`), ...COMMANDS[name]!.options.map((o) => `[--${o}]`)].join(" ")}`)
  .join("\n")}

The database is RAMPART_DB (default ./data/rampart.db). Add --help to any command for details.`;

function out(text: string): void {
  process.stdout.write(text);
}

function die(message: string): never {
  process.stderr.write(`rampart cli: ${message}\n`);
  process.exit(2);
}

function describe(err: CoreError): string {
  return Object.entries(err.errors)
    .map(([f, m]) => `${f} ${m.join(", ")}`)
    .join("; ");
}

function progressBar(done: number, total: number): void {
  const width = 30;
  const ratio = total === 0 ? 1 : done / total;
  const filled = Math.round(ratio * width);
  process.stderr.write(`\r[${"#".repeat(filled)}${" ".repeat(width - filled)}] ${String(Math.round(ratio * 100)).padStart(3)}% ${done}/${total} pages`);
}

async function main(argv: string[]): Promise<void> {
  const { values, positionals } = (() => {
    try {
      return parseArgs({
        args: argv,
        allowPositionals: true,
        options: {
          help: { type: "boolean", short: "h" },
          permissions: { type: "string" },
          name: { type: "string" },
          realm: { type: "string" },
          force: { type: "boolean" },
        },
      });
    } catch (err) {
      die(`${(err as Error).message}\n\n${USAGE}`);
    }
  })();
  if (positionals.length === 0) {
    out(`${USAGE}\n`);
    if (!values.help) process.exit(2);
    return;
  }
  const words = COMMANDS[positionals.slice(0, 2).join(" ")] ? 2 : COMMANDS[positionals[0]!] ? 1 : 0;
  const name = positionals.slice(0, words).join(" ");
  const command = COMMANDS[name];
  if (!command) die(`unknown command "${positionals.join(" ")}"\n\n${USAGE}`);
  if (values.help) {
    out(`${command.help}\n`);
    return;
  }
  for (const option of ["permissions", "name", "realm", "force"] as const) {
    if (values[option] !== undefined && !command.options.includes(option)) die(`${name} takes no --${option}\n\n${command.help}`);
  }
  const args = positionals.slice(words);
  if (args.length < command.args.length) die(`${name} needs a ${command.args[args.length]}\n\n${command.help}`);
  if (args.length > command.args.length) die(`unexpected argument "${args[command.args.length]}"\n\n${command.help}`);

  let rampart: OpenRampart | undefined;
  const db = (): OpenRampart => {
    try {
      rampart ??= openRampart(nodeDeps({ path: DB_PATH() }));
    } catch (err) {
      die(`RAMPART_DB: cannot open "${DB_PATH()}": ${(err as Error).message}`);
    }
    return rampart;
  };
  let code: number | void = 0;
  try {
    code = await command.run(db, args, values);
  } catch (err) {
    if (err instanceof CoreError) die(describe(err));
    throw err;
  } finally {
    await rampart?.close();
  }
  process.exitCode = code ?? 0;
}

await main(process.argv.slice(2));
