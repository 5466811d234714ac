import assert from "node:assert/strict";
import { test } from "node:test";
import { SignJWT, UnsecuredJWT } from "jose";
import type { RealmRow } from "../../core/realms.ts";
import { fullName, verifyLoginToken } from "../../core/tokens.ts";

const realm = { id: "rl_0000000000000000000000", jwt_secret: "jsk_secretsecretsecretsecretsecretsecret12345" } as RealmRow;
const key = new TextEncoder().encode(realm.jwt_secret);
const now = Math.floor(Date.now() / 1000);

async function sign(alg: string, secret = key, exp = now + 60): Promise<string> {
  return new SignJWT({ uid: "usr_x" }).setProtectedHeader({ alg }).setIssuedAt(now).setExpirationTime(exp).setAudience(realm.id).sign(secret);
}

test("verifyLoginToken() accepts the realm's HS256 token", async () => {
  assert.equal((await verifyLoginToken(realm, await sign("HS256")))?.uid, "usr_x");
});

test("verifyLoginToken() rejects alg none, other algorithms, tampering, another key and expiry", async () => {
  const none = new UnsecuredJWT({ uid: "usr_x" })
    .setAudience(realm.id)
    .setExpirationTime(now + 60)
    .encode();
  const good = await sign("HS256");
  const [h, , s] = good.split(".");
  const tampered = `${h}.${Buffer.from(JSON.stringify({ uid: "usr_admin", aud: realm.id, exp: now + 60 })).toString("base64url")}.${s}`;
  for (const token of [
    none,
    await sign("HS512"),
    tampered,
    await sign("HS256", new TextEncoder().encode("another secret of enough length!!")),
    await sign("HS256", key, now - 120),
    "garbage",
  ]) {
    assert.equal(await verifyLoginToken(realm, token), undefined, token.slice(0, 40));
  }
});

test("fullName() joins present names", () => {
  assert.equal(fullName("A", "B"), "A B");
  assert.equal(fullName(null, "B"), "B");
  assert.equal(fullName(null, null), null);
});
