/**
 * `npm run cli -- <command>`: operator commands that work on the database directly
 * (the server may be running; SQLite's WAL lets both use the file).
 */
import { parseArgs } from "node:util";
import { CoreError, openRampart, type OpenRampart } from "@rampart/core";
import { nodeDeps } from "@rampart/core/adapters/node";

const USAGE = `Usage: npm run cli -- <command> [options]

Commands:
  keys create [--permissions read,write,admin_realm] [--name NAME]   create a management API key (printed once)
  keys list                                                        list keys (ids, permissions; never secrets)
  keys revoke <ko_id>                                              revoke a key

The database is RAMPART_DB (default ./data/rampart.db). Add --help to any command for details.`;

const HELP: Record<string, string> = {
  "keys create": `Usage: npm run cli -- keys create [--permissions LIST] [--name NAME]

Creates a management API key and prints it once, in both accepted forms:
  X-Authrocket-Api-Key: ko_<id>-<secret>
  legacy pair X-Authrocket-Account: <account id> + X-Authrocket-Api-Key: key_<secret>

  --permissions   comma list of read, write, admin_realm (default: all three)
  --name          a label to recognise the key by`,
  "keys list": "Usage: npm run cli -- keys list\n\nLists every key's id, name, permissions and whether it is revoked. Secrets are never shown.",
  "keys revoke": "Usage: npm run cli -- keys revoke <ko_id>\n\nRevokes the key; a running server stops accepting it within 5 seconds.",
};

function die(message: string): never {
  process.stderr.write(`rampart cli: ${message}\n`);
  process.exit(2);
}

async function main(argv: string[]): Promise<void> {
  const { values, positionals } = (() => {
    try {
      return parseArgs({
        args: argv,
        allowPositionals: true,
        options: { help: { type: "boolean", short: "h" }, permissions: { type: "string" }, name: { type: "string" } },
      });
    } catch (err) {
      die(`${(err as Error).message}\n\n${USAGE}`);
    }
  })();
  const command = positionals.slice(0, 2).join(" ");
  if (positionals.length === 0) {
    process.stdout.write(`${USAGE}\n`);
    if (!values.help) process.exit(2);
    return;
  }
  if (!(command in HELP)) die(`unknown command "${positionals.join(" ")}"\n\n${USAGE}`);
  if (values.help) {
    process.stdout.write(`${HELP[command]}\n`);
    return;
  }
  const expected = command === "keys revoke" ? 3 : 2;
  if (positionals.length > expected) die(`unexpected argument "${positionals[expected]}"\n\n${HELP[command]}`);
  const dbPath = process.env.RAMPART_DB || "./data/rampart.db";
  let rampart: OpenRampart;
  try {
    rampart = openRampart(nodeDeps({ path: dbPath }));
  } catch (err) {
    die(`RAMPART_DB: cannot open "${dbPath}": ${(err as Error).message}`);
  }
  try {
    if (command === "keys create") {
      const permissions = values.permissions
        ?.split(",")
        .map((s) => s.trim())
        .filter(Boolean);
      if (permissions?.length === 0) die(`--permissions: name at least one of read, write, admin_realm\n\n${HELP[command]}`);
      const key = await rampart.keys.create({ ...(permissions ? { permissions } : {}), ...(values.name ? { name: values.name } : {}) });
      process.stdout.write(
        `Created ${String(key.id)} with permissions ${(key.permissions as string[]).join(", ")}. Shown once:\n` +
          `  X-Authrocket-Api-Key: ${String(key.key)}\n` +
          `  legacy pair: X-Authrocket-Account: ${rampart.accountId}  X-Authrocket-Api-Key: ${String(key.legacy_key)}\n`,
      );
    } else if (command === "keys list") {
      for (const k of await rampart.keys.list()) {
        process.stdout.write(`${String(k.id)}\t${(k.permissions as string[]).join(",")}\t${k.revoked_at ? "revoked" : "active"}\t${k.name ?? ""}\n`);
      }
    } else if (command === "keys revoke") {
      const id = positionals[2];
      if (!id) die(`keys revoke needs a key id\n\n${HELP[command]}`);
      await rampart.keys.revoke(id);
      process.stdout.write(`Revoked ${id}\n`);
    }
  } catch (err) {
    if (err instanceof CoreError)
      die(
        Object.entries(err.errors)
          .map(([f, m]) => `${f} ${m.join(", ")}`)
          .join("; "),
      );
    throw err;
  } finally {
    await rampart.close();
  }
}

await main(process.argv.slice(2));
