/** bin/config.ts: LoginRocket and HTTP process settings, each bad value refused with one line naming it. */
import assert from "node:assert/strict";
import { availableParallelism } from "node:os";
import { describe, it } from "node:test";
import { ConfigError, loadConfig } from "../bin/config.ts";

function refusal(env: Record<string, string>): string {
  try {
    loadConfig(env);
  } catch (err) {
    assert.ok(err instanceof ConfigError, String(err));
    assert.ok(!err.message.includes("\n"), "one line");
    return err.message;
  }
  assert.fail(`accepted ${JSON.stringify(env)}`);
}

describe("loadConfig()", () => {
  it("reads RAMPART_TRUSTED_PROXIES as a comma list of addresses and CIDR ranges", () => {
    assert.deepEqual(loadConfig({}).trustedProxies, []);
    assert.deepEqual(loadConfig({ RAMPART_TRUSTED_PROXIES: " 10.0.0.0/8, ::1 ,192.168.1.1" }).trustedProxies, ["10.0.0.0/8", "::1", "192.168.1.1"]);
  });

  it("refuses a bad RAMPART_TRUSTED_PROXIES entry, naming the setting and the entry", () => {
    assert.match(
      refusal({ RAMPART_TRUSTED_PROXIES: "10.0.0.0/8, proxy.local" }),
      /^RAMPART_TRUSTED_PROXIES: "proxy.local" is not an IP address or CIDR range$/,
    );
    assert.match(refusal({ RAMPART_TRUSTED_PROXIES: "10.0.0.0/33" }), /^RAMPART_TRUSTED_PROXIES: "10.0.0.0\/33" has a prefix length outside 0-32$/);
  });

  it("reads RAMPART_LOGINROCKET_DOMAIN as a host name, in lower case", () => {
    assert.equal(loadConfig({}).loginRocketDomain, undefined);
    assert.equal(loadConfig({ RAMPART_LOGINROCKET_DOMAIN: "Login.Example.com" }).loginRocketDomain, "login.example.com");
    assert.equal(loadConfig({ RAMPART_LOGINROCKET_DOMAIN: "localhost" }).loginRocketDomain, "localhost");
  });

  it("refuses a RAMPART_LOGINROCKET_DOMAIN with a scheme, port, path or bad label", () => {
    for (const bad of ["https://login.example.com", "login.example.com:8443", "login.example.com/x", "-bad.example.com", "a..b", "login.example.com."]) {
      assert.match(refusal({ RAMPART_LOGINROCKET_DOMAIN: bad }), /^RAMPART_LOGINROCKET_DOMAIN: ".*" is not a host name/, bad);
    }
  });
  it("reads RAMPART_HTTP_PROCESSES (default: the cores) and RAMPART_HTTP_SCALING (default auto)", () => {
    assert.equal(loadConfig({}).httpProcesses, Math.min(availableParallelism(), 16));
    assert.equal(loadConfig({}).httpScaling, "auto");
    assert.deepEqual([loadConfig({ RAMPART_HTTP_PROCESSES: "1" }).httpProcesses, loadConfig({ RAMPART_HTTP_SCALING: "always" }).httpScaling], [1, "always"]);
    assert.match(refusal({ RAMPART_HTTP_PROCESSES: "0" }), /^RAMPART_HTTP_PROCESSES: "0" is not a whole number between 1 and 64$/);
    assert.match(refusal({ RAMPART_HTTP_SCALING: "sometimes" }), /^RAMPART_HTTP_SCALING: "sometimes" must be one of auto, always$/);
  });

  it("reads RAMPART_HASH_NICE (default 19, 0 = the server's own priority)", () => {
    assert.equal(loadConfig({}).hashNice, 19);
    assert.equal(loadConfig({ RAMPART_HASH_NICE: "0" }).hashNice, 0);
    assert.match(refusal({ RAMPART_HASH_NICE: "20" }), /^RAMPART_HASH_NICE: "20" is not a whole number between 0 and 19$/);
    assert.match(refusal({ RAMPART_HASH_NICE: "-5" }), /^RAMPART_HASH_NICE: "-5" is not a whole number between 0 and 19$/);
  });
});
