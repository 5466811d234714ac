/**
 * Imported password hashes: bcrypt, scrypt, PBKDF2 (three spellings) and argon2i verify at
 * login within safe bounds and are re-hashed with argon2id; out-of-bounds hashes are refused.
 */
import assert from "node:assert/strict";
import { pbkdf2Sync, randomBytes, scryptSync } from "node:crypto";
import { after, test } from "node:test";
import { hash as argon2Hash } from "@node-rs/argon2";
import { hash as bcryptHash } from "@node-rs/bcrypt";
import { CoreError } from "@rampart/core";
import { openTestRampart } from "../helpers/rampart.ts";

const t = await openTestRampart();
after(() => t.cleanup());
const ctx = t.rampart.trustedContext();
const realm = (await t.rampart.realms.create(ctx, { realm: { name: "Imports" } })) as { id: string };
const inRealm = { ...ctx, realmId: realm.id };
const PASSWORD = "imported secret";

const salt = randomBytes(16);
const b64 = (b: Buffer) => b.toString("base64").replace(/=+$/, "");
const hashes: Record<string, string> = {
  bcrypt: await bcryptHash(PASSWORD, 4),
  scrypt: `$scrypt$ln=10,r=8,p=1$${b64(salt)}$${b64(scryptSync(PASSWORD, salt, 32, { N: 1024, r: 8, p: 1 }))}`,
  "pbkdf2 (PHC)": `$pbkdf2-sha256$i=1000,l=32$${b64(salt)}$${b64(pbkdf2Sync(PASSWORD, salt, 1000, 32, "sha256"))}`,
  "pbkdf2 (passlib)": `$pbkdf2-sha512$2000$${b64(salt).replace(/\+/g, ".")}$${b64(pbkdf2Sync(PASSWORD, salt, 2000, 64, "sha512")).replace(/\+/g, ".")}`,
  "pbkdf2 (django)": `pbkdf2_sha256$1500$plainsalt$${pbkdf2Sync(PASSWORD, "plainsalt", 1500, 32, "sha256").toString("base64")}`,
  argon2i: await argon2Hash(PASSWORD, { algorithm: 1, memoryCost: 4096, timeCost: 2, parallelism: 1 }),
};

const passwordHashOf = (userId: string) =>
  (t.sqlite().prepare("SELECT secret_hash FROM credentials WHERE user_id = ? AND credential_type = 'password'").get(userId) as { secret_hash: string })
    .secret_hash;

for (const [scheme, passwordHash] of Object.entries(hashes)) {
  test(`an imported ${scheme} hash logs in and is re-hashed with argon2id`, async () => {
    const username = `imp-${scheme.replace(/[^a-z0-9]/g, "")}`;
    const user = (await t.rampart.importUser(inRealm, { user: { username, email: `${username}@example.com`, password_hash: passwordHash } })) as { id: string };
    assert.equal(passwordHashOf(user.id), passwordHash);
    await assert.rejects(
      t.rampart.users.authenticate(inRealm, { id: username, password: "not the password" }),
      (e: unknown) => e instanceof CoreError && e.code === "user.authentication_failed",
    );
    const ok = (await t.rampart.users.authenticate(inRealm, { id: username, password: PASSWORD })) as { token: string };
    assert.equal(typeof ok.token, "string");
    assert.match(passwordHashOf(user.id), /^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
    await t.rampart.users.authenticate(inRealm, { id: username, password: PASSWORD });
  });
}

test("hashes outside the safe bounds, or of unknown formats, are refused at import", async () => {
  const tooCostly = [
    `$2b$15$${"a".repeat(53)}`,
    `$scrypt$ln=22,r=8,p=1$${b64(salt)}$${b64(randomBytes(32))}`,
    `$pbkdf2-sha256$i=10000000,l=32$${b64(salt)}$${b64(randomBytes(32))}`,
    `$argon2id$v=19$m=1048576,t=2,p=1$${b64(salt)}$${b64(randomBytes(32))}`,
    "$1$md5crypt$notsupported",
    "plaintext-password",
  ];
  for (const [i, password_hash] of tooCostly.entries()) {
    await assert.rejects(
      t.rampart.importUser(inRealm, { user: { username: `bad${i}`, password_hash } }),
      (e: unknown) => e instanceof CoreError && Array.isArray(e.errors.password_hash),
      password_hash,
    );
  }
  assert.equal((t.sqlite().prepare("SELECT count(*) AS n FROM users WHERE username LIKE 'bad%'").get() as { n: number }).n, 0);
});

test("a forged trust token is refused; only the instance's own one passes", async () => {
  await assert.rejects(
    t.rampart.realms.list({ requestId: "rq_x", credentials: { trusted: { trusted: true } } }, {}),
    (e: unknown) => e instanceof CoreError && e.code === "api_key.invalid",
  );
  assert.ok(Array.isArray(((await t.rampart.realms.list(ctx, {})) as { collection: unknown[] }).collection));
});
