import assert from "node:assert/strict";
import { test } from "node:test";
import { CoreError } from "../../core/errors.ts";
import { isIpLiteral, readRequestInfo } from "../../core/request_info.ts";

test("isIpLiteral() accepts IPv4 and IPv6 literals and nothing else", () => {
  for (const ip of ["1.2.3.4", "255.255.255.255", "::1", "::", "2001:db8::1", "fe80::1:2:3:4", "::ffff:192.0.2.1", "1:2:3:4:5:6:7:8"])
    assert.equal(isIpLiteral(ip), true, ip);
  for (const ip of ["256.1.1.1", "1.2.3", "01.2.3.4", "1:2:3:4:5:6:7:8:9", "1::2::3", "example.com", "", "::g", "1.2.3.4 ", "[::1]"])
    assert.equal(isIpLiteral(ip), false, ip);
});

test("readRequestInfo() reads the object, JSON and 2015 Ruby forms", () => {
  assert.deepEqual(readRequestInfo({ request: { ip: "1.2.3.4", client: "c" } }), { ip: "1.2.3.4", client: "c" });
  assert.deepEqual(readRequestInfo({ request: '{"ip":"1.2.3.4","client":"c"}' }), { ip: "1.2.3.4", client: "c" });
  assert.deepEqual(readRequestInfo({ request: '{"ip"=>"1.2.3.4", "client"=>"Mozilla/5.0 (X11)"}' }), { ip: "1.2.3.4", client: "Mozilla/5.0 (X11)" });
  assert.deepEqual(readRequestInfo({ request: '{"ip" => "::1"}' }), { ip: "::1", client: null });
  assert.deepEqual(readRequestInfo({}), { ip: null, client: null });
});

test("readRequestInfo() maps the deprecated forms", () => {
  assert.deepEqual(readRequestInfo({ ip: "1.2.3.4", client: "old" }), { ip: "1.2.3.4", client: "old" });
  assert.deepEqual(readRequestInfo({ session: { user_id: "x", ip: "::1" } }, "session"), { ip: "::1", client: null });
});

test("readRequestInfo() refuses bad values with errors.request", () => {
  for (const request of [{ ip: "nope" }, { client: "x".repeat(256) }, { ip: 5 }, { other: 1 }, "not json", 42, '{"ip"=>"1.2.3.4", junk}']) {
    assert.throws(
      () => readRequestInfo({ request }),
      (err: unknown) => err instanceof CoreError && err.kind === "INVALID_ARGUMENT" && Array.isArray(err.errors.request),
      JSON.stringify(request),
    );
  }
});
