/**
 * security.md "Durability and faults": concurrent requests never create two users with one
 * username. 20 parallel creates over real HTTP, with the same username spelled in different
 * cases and as NFKC look-alikes (full-width letters).
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { api, cleanupTempDirs, createRealm, killAll, makeAdminKey, startServer, type ServerProcess } from "./helpers/process.ts";

/** Spellings that NFKC + lower-casing turn into `base` ("bob" → "ｂｏｂ", "ＢＯＢ", …). */
function variants(base: string, n: number): string[] {
  const fullWidth = (s: string): string => [...s].map((c) => String.fromCodePoint(c.codePointAt(0)! + 0xfee0)).join("");
  const cap = base[0]!.toUpperCase() + base.slice(1);
  const mixed = [...base].map((c, i) => (i % 2 ? c.toUpperCase() : c)).join("");
  const spellings = [base, base.toUpperCase(), cap, mixed, fullWidth(base), fullWidth(base.toUpperCase()), fullWidth(cap), fullWidth(base[0]!) + base.slice(1)];
  for (const s of spellings) assert.equal(s.normalize("NFKC").toLowerCase(), base, `test setup: ${s} is a look-alike of ${base}`);
  return Array.from({ length: n }, (_, i) => spellings[i % spellings.length]!);
}

describe("parallel creates of one username over HTTP", () => {
  let server: ServerProcess;
  let key: string;
  let realm: string;

  before(async () => {
    key = makeAdminKey();
    server = await startServer({ env: { RAMPART_ADMIN_KEY: key } });
    realm = await createRealm(server, key);
  });

  after(async () => {
    await killAll();
    cleanupTempDirs();
  });

  for (const round of [
    { base: "bob", password: true },
    { base: "alice", password: false },
  ]) {
    test(`20 parallel POST /v1/users "${round.base}" (cases, look-alikes${round.password ? ", with passwords" : ""}) → one 201, the rest 422 taken`, async () => {
      const names = variants(round.base, 20);
      const results = await Promise.all(
        names.map((username) =>
          api(server, "POST", "/v1/users", {
            key,
            realm,
            body: { user: { username, ...(round.password ? { password: "correct horse battery staple" } : {}) } },
          }),
        ),
      );
      const created = results.filter((r) => r.status === 201);
      const taken = results.filter((r) => r.status === 422);
      const other = results.filter((r) => r.status !== 201 && r.status !== 422).map((r) => `${r.status} ${r.text}`);
      assert.deepEqual(other, [], "only 201 and 422 answers");
      assert.equal(created.length, 1, `exactly one create succeeds: ${created.map((r) => r.text).join("\n")}`);
      assert.equal(taken.length, 19);
      for (const r of taken) {
        assert.deepEqual((r.body as { errors?: unknown }).errors, { username: ["has already been taken"] }, r.text);
      }
      const winner = created[0]!.body as { id: string; username: string };
      assert.equal(winner.username, round.base, "stored lower-cased after NFKC");

      for (const query of [round.base, round.base.toUpperCase()]) {
        const list = await api(server, "GET", `/v1/users?username=${encodeURIComponent(query)}`, { key, realm });
        assert.equal(list.status, 200, list.text);
        const items = (list.body as { collection: { id: string }[] }).collection;
        assert.deepEqual(
          items.map((u) => u.id),
          [winner.id],
          `exactly one user ${round.base} in the database (username=${query})`,
        );
      }
      // Also without the filter: no look-alike row was stored un-normalised beside it.
      const all = await api(server, "GET", "/v1/users?max_results=1000", { key, realm });
      assert.equal(all.status, 200, all.text);
      const same = (all.body as { collection: { id: string; username: string }[] }).collection.filter(
        (u) => u.username.normalize("NFKC").toLowerCase() === round.base,
      );
      assert.deepEqual(
        same.map((u) => u.id),
        [winner.id],
      );
    });
  }
});
