/**
 * `bin/cli.ts` (`npm run cli -- …`) as a real process over a temp RAMPART_DB: keys create /
 * list / revoke, --help, and clear failures. The keys it makes are then tried against a
 * real server on the same file.
 */
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { hash as bcryptHash } from "@node-rs/bcrypt";
import Database from "better-sqlite3";
import { after, describe, test } from "node:test";
import { ACCOUNT_ID, api, cleanupTempDirs, createRealm, killAll, makeTempDir, runCli, startServer } from "./helpers/process.ts";

after(async () => {
  await killAll();
  cleanupTempDirs();
});

const KEY_IN_TEXT = /ko_[0-9A-Za-z]{22}-[0-9A-Za-z]{32,64}(?![0-9A-Za-z])/g;

interface CreatedKey {
  key: string;
  id: string;
  secret: string;
}

function parseCreated(stdout: string): CreatedKey {
  const keys = stdout.match(KEY_IN_TEXT) ?? [];
  assert.equal(keys.length, 1, `one key printed:\n${stdout}`);
  const key = keys[0]!;
  const secret = key.slice(key.indexOf("-") + 1);
  assert.ok(stdout.includes(`key_${secret}`), `the legacy key_ form is printed too:\n${stdout}`);
  return { key, id: key.slice(0, key.indexOf("-")), secret };
}

function assertNoStack(text: string): void {
  assert.ok(!/\n\s+at /.test(text), `no stack trace:\n${text}`);
}

describe("keys create / list / revoke on a temp database", () => {
  const db = join(makeTempDir(), "cli.db");
  const env = { RAMPART_DB: db };
  let all: CreatedKey;
  let readOnly: CreatedKey;
  let revoked: CreatedKey;

  test("keys create prints a key once, in both forms, with the account id", async () => {
    const r = await runCli(["keys", "create"], env);
    assert.equal(r.code, 0, r.stderr);
    all = parseCreated(r.stdout);
    assert.match(/org_[0-9A-Za-z]+/.exec(r.stdout)?.[0] ?? "", ACCOUNT_ID);
    assert.equal(r.stderr.includes(all.secret), false);

    const ro = await runCli(["keys", "create", "--permissions", "read", "--name", "reporting"], env);
    assert.equal(ro.code, 0, ro.stderr);
    readOnly = parseCreated(ro.stdout);
    const third = await runCli(["keys", "create", "--name", "to-revoke"], env);
    assert.equal(third.code, 0, third.stderr);
    revoked = parseCreated(third.stdout);
    assert.equal(new Set([all.id, readOnly.id, revoked.id]).size, 3, "distinct keys");
  });

  test("keys list lists every key without its secret", async () => {
    const r = await runCli(["keys", "list"], env);
    assert.equal(r.code, 0, r.stderr);
    for (const k of [all, readOnly, revoked]) {
      assert.ok(r.stdout.includes(k.id), `${k.id} listed:\n${r.stdout}`);
      assert.ok(!r.stdout.includes(k.secret), "no secret in the list");
    }
    assert.equal((r.stdout.match(KEY_IN_TEXT) ?? []).length, 0, "no full key in the list");
    const line = r.stdout.split("\n").find((l) => l.includes(readOnly.id)) ?? "";
    assert.match(line, /reporting/);
    assert.match(line, /\bread\b/);
    assert.doesNotMatch(line, /\bwrite\b/);
  });

  test("keys revoke <id> revokes it (listed as revoked)", async () => {
    const r = await runCli(["keys", "revoke", revoked.id], env);
    assert.equal(r.code, 0, r.stderr);
    const list = await runCli(["keys", "list"], env);
    assert.equal(list.code, 0, list.stderr);
    const line = list.stdout.split("\n").find((l) => l.includes(revoked.id)) ?? "";
    assert.match(line, /revoked/, list.stdout);
    const other = list.stdout.split("\n").find((l) => l.includes(all.id)) ?? "";
    assert.doesNotMatch(other, /revoked/, "only that key is revoked");

    const again = await runCli(["keys", "revoke", revoked.id], env);
    assert.notEqual(again.code, 0, "revoking a revoked key fails");
    assert.ok(again.stderr.trim() !== "", "with a message");
    assertNoStack(again.stderr);
  });

  test("a server on the same file accepts the created keys (with their permissions) and rejects the revoked one", async () => {
    const server = await startServer({ dbPath: db });
    try {
      assert.equal((server.stdout().match(KEY_IN_TEXT) ?? []).length, 0, "the server generates no key when the CLI made one");
      assert.equal((await api(server, "GET", "/v1/realms", { key: all.key })).status, 200);
      const realm = await createRealm(server, all.key);
      const read = await api(server, "GET", "/v1/users", { key: readOnly.key, realm });
      assert.equal(read.status, 200, `a read key can read: ${read.text}`);
      const write = await api(server, "POST", "/v1/users", { key: readOnly.key, realm, body: { user: { username: "nope" } } });
      assert.equal(write.status, 403, `a read-only key cannot write: ${write.text}`);
      const realms = await api(server, "GET", "/v1/realms", { key: readOnly.key });
      assert.equal(realms.status, 403, `realms need admin_realm: ${realms.text}`);
      const gone = await api(server, "GET", "/v1/realms", { key: revoked.key });
      assert.equal(gone.status, 403, `the revoked key is refused: ${gone.text}`);
    } finally {
      const exit = await server.stop("SIGTERM");
      assert.deepEqual(exit, { code: 0, signal: null }, server.stderr());
    }
  });
});

describe("--help and bad invocations", { concurrency: 3 }, () => {
  const env = { RAMPART_DB: join(makeTempDir(), "help.db") };

  for (const args of [["--help"], ["keys", "create", "--help"], ["keys", "list", "--help"], ["keys", "revoke", "--help"]]) {
    test(`${args.join(" ")} exits 0 with usage`, async () => {
      const r = await runCli(args, env);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /Usage:/);
      if (args.length > 1) assert.ok(r.stdout.includes(args.slice(0, 2).join(" ")), `usage of ${args.join(" ")}:\n${r.stdout}`);
    });
  }

  const bad: { args: string[]; message: RegExp }[] = [
    { args: ["frobnicate"], message: /unknown command.*frobnicate/ },
    { args: ["keys", "destroy"], message: /unknown command.*keys destroy/ },
    { args: ["keys", "create", "--bogus"], message: /--bogus/ },
    { args: ["keys", "create", "--permissions", "fly"], message: /permissions/ },
    { args: ["keys", "create", "--permissions", ""], message: /permissions/ },
    { args: ["keys", "revoke"], message: /key id/ },
    { args: ["keys", "list", "extra"], message: /unexpected argument "extra"/ },
    { args: ["keys", "revoke", "ko_0000000000000000000000", "extra"], message: /unexpected argument "extra"/ },
    { args: ["keys", "revoke", "ko_0000000000000000000000"], message: /not an active key|ko_0000000000000000000000/ },
  ];
  for (const b of bad) {
    test(`${b.args.join(" ")} → a clear message and a non-zero exit`, async () => {
      const r = await runCli(b.args, env);
      assert.equal(r.signal, null);
      assert.notEqual(r.code, 0, r.stdout);
      assert.notEqual(r.code, null);
      assert.match(r.stderr, b.message);
      assertNoStack(r.stderr);
    });
  }

  test("an unopenable RAMPART_DB → one line naming RAMPART_DB and a non-zero exit", async () => {
    const r = await runCli(["keys", "list"], { RAMPART_DB: "/dev/null/x.db" });
    assert.notEqual(r.code, 0);
    assert.notEqual(r.code, null);
    const lines = r.stderr.split("\n").filter((l) => l.trim() !== "");
    assert.equal(lines.length, 1, r.stderr);
    assert.match(lines[0]!, /RAMPART_DB/);
  });
});

describe("realms list, users import, backup and migrate", () => {
  const dir = makeTempDir();
  const db = join(dir, "ops.db");
  const env = { RAMPART_DB: db };

  test("migrate creates the schema and reports its version", async () => {
    const r = await runCli(["migrate"], env);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /Schema version \d+: up to date/);
  });

  test("users import takes JSON lines with imported hashes, reports bad lines, and the users can log in", async () => {
    const key = parseCreated((await runCli(["keys", "create"], env)).stdout).key;
    const server = await startServer({ dbPath: db });
    try {
      const realm = await createRealm(server, key, "Imported");
      const bcrypt = await bcryptHash("imported password", 4);
      const file = join(dir, "users.jsonl");
      writeFileSync(
        file,
        [
          JSON.stringify({ realm_id: realm, username: "ann", email: "ann@example.com", first_name: "Ann", password_hash: bcrypt }),
          "not json",
          JSON.stringify({ username: "bob" }),
          JSON.stringify({ username: "cy", password_hash: "$1$md5$unsupported" }),
          JSON.stringify({ username: "dee", custom: { plan: "gold" } }),
        ].join("\n"),
      );
      const r = await runCli(["users", "import", file, "--realm", realm], env);
      assert.equal(r.code, 1, "a failed line makes the exit non-zero");
      assert.match(r.stdout, /imported 3, failed 2/);
      assert.match(r.stderr, /line 2: not a JSON object/);
      assert.match(r.stderr, /line 4: password_hash is not a supported hash/);
      assertNoStack(r.stderr);
      const login = await api(server, "POST", "/v1/users/ann/authenticate", { key, realm, body: { password: "imported password" } });
      assert.equal(login.status, 200, login.text);
      const dee = await api(server, "GET", "/v1/users/dee", { key, realm });
      assert.deepEqual((dee.body as { custom: unknown }).custom, { plan: "gold" });
      const events = await api(server, "GET", `/v1/events?realm_id=${realm}&event_type=user.created`, { key });
      assert.equal((events.body as { collection: unknown[] }).collection.length, 3, "each imported user has its event");

      const listed = await runCli(["realms", "list"], env);
      assert.equal(listed.code, 0, listed.stderr);
      assert.match(listed.stdout, new RegExp(`${realm}\\tactive\\tImported`));
    } finally {
      await server.stop();
    }
  });

  test("backup copies the database online, checks it, and refuses to overwrite without --force", async () => {
    const target = join(dir, "backup.db");
    const r = await runCli(["backup", target], env);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /100% \d+\/\d+ pages/);
    assert.match(r.stdout, /integrity ok/);
    const copy = new Database(target, { readonly: true });
    assert.equal((copy.prepare("SELECT count(*) AS n FROM users").get() as { n: number }).n, 3);
    copy.close();
    const again = await runCli(["backup", target], env);
    assert.notEqual(again.code, 0);
    assert.match(again.stderr, /exists; add --force/);
    assert.equal((await runCli(["backup", target, "--force"], env)).code, 0);
  });
});
