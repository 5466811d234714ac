/** Trusted proxies, CIDR parsing and the client IP LoginRocket records (http-bridge/client_ip.ts). */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { TrustedProxyError, clientIp, normalizeIp, parseTrustedProxies, splitProxyList } from "@rampart/http-bridge";

describe("normalizeIp()", () => {
  it("keeps IPv4 and lower-cases IPv6", () => {
    assert.equal(normalizeIp("203.0.113.7"), "203.0.113.7");
    assert.equal(normalizeIp("2001:DB8::1"), "2001:db8::1");
    assert.equal(normalizeIp(" 10.0.0.1 "), "10.0.0.1");
  });

  it("turns IPv4-mapped IPv6 (what a dual-stack socket reports) into IPv4", () => {
    assert.equal(normalizeIp("::ffff:127.0.0.1"), "127.0.0.1");
    assert.equal(normalizeIp("::FFFF:7f00:1"), "127.0.0.1");
  });

  it("drops an IPv6 zone", () => {
    assert.equal(normalizeIp("fe80::1%eth0"), "fe80::1");
  });

  it("refuses what is not an address", () => {
    for (const bad of ["", "localhost", "1.2.3", "1.2.3.256", "01.2.3.4", "1.2.3.4:80", "[::1]", "::1::2", "1.2.3.4/8", "<script>"]) {
      assert.equal(normalizeIp(bad), null, bad);
    }
  });
});

describe("parseTrustedProxies()", () => {
  it("matches single addresses and CIDR ranges of both families", () => {
    const trusted = parseTrustedProxies(["10.0.0.0/8", "192.168.1.7", "2001:db8::/32", "::1", "172.16.0.0/12"]);
    assert.equal(trusted.size, 5);
    for (const ip of ["10.0.0.1", "10.255.255.255", "192.168.1.7", "2001:db8::1", "2001:db8:ffff::5", "::1", "172.31.0.1", "::ffff:10.1.2.3"]) {
      assert.equal(trusted.contains(ip), true, ip);
    }
    for (const ip of ["11.0.0.1", "192.168.1.8", "2001:db9::1", "::2", "172.32.0.1", "127.0.0.1", "junk"]) {
      assert.equal(trusted.contains(ip), false, ip);
    }
  });

  it("handles prefixes that are not a multiple of 8, /0 and /32", () => {
    const trusted = parseTrustedProxies(["100.64.0.0/10", "198.51.100.9/32"]);
    assert.equal(trusted.contains("100.127.255.255"), true);
    assert.equal(trusted.contains("100.128.0.0"), false);
    assert.equal(trusted.contains("198.51.100.9"), true);
    assert.equal(trusted.contains("198.51.100.10"), false);
    const all = parseTrustedProxies(["0.0.0.0/0"]);
    assert.equal(all.contains("8.8.8.8"), true);
    assert.equal(all.contains("2001:db8::1"), false, "an IPv4 range never matches IPv6");
  });

  it("ignores host bits beyond the prefix, like other CIDR parsers", () => {
    assert.equal(parseTrustedProxies(["10.9.8.7/8"]).contains("10.1.1.1"), true);
  });

  it("reads an IPv4-mapped range as the IPv4 range it denotes", () => {
    const trusted = parseTrustedProxies(["::ffff:10.0.0.0/104"]);
    assert.equal(trusted.contains("10.200.0.1"), true);
    assert.equal(trusted.contains("11.0.0.1"), false);
  });

  it("refuses bad entries with a message naming them", () => {
    for (const bad of ["10.0.0.0/33", "::/129", "10.0.0.0/", "10.0.0.0/x", "example.com", "10.0.0.0/8/8", "fe80::1%eth0", "::ffff:10.0.0.0/8"]) {
      assert.throws(
        () => parseTrustedProxies([bad]),
        (err: unknown) => err instanceof TrustedProxyError && err.message.includes(bad),
        bad,
      );
    }
  });

  it("is empty for an empty list, which trusts nobody", () => {
    const none = parseTrustedProxies(splitProxyList(" , "));
    assert.equal(none.size, 0);
    assert.equal(none.contains("127.0.0.1"), false);
  });
});

describe("splitProxyList()", () => {
  it("splits on commas and trims", () => {
    assert.deepEqual(splitProxyList(" 10.0.0.0/8 ,::1,,192.168.0.1 "), ["10.0.0.0/8", "::1", "192.168.0.1"]);
    assert.deepEqual(splitProxyList(""), []);
  });
});

describe("clientIp()", () => {
  const trusted = parseTrustedProxies(["127.0.0.1", "10.0.0.0/8"]);

  it("is the peer when the peer is not a trusted proxy, whatever X-Forwarded-For says", () => {
    assert.equal(clientIp("198.51.100.1", "203.0.113.7", trusted), "198.51.100.1");
    assert.equal(clientIp("198.51.100.1", undefined, trusted), "198.51.100.1");
  });

  it("is the peer when no proxy is configured", () => {
    assert.equal(clientIp("127.0.0.1", "203.0.113.7", parseTrustedProxies([])), "127.0.0.1");
  });

  it("takes the nearest untrusted hop of X-Forwarded-For from a trusted peer", () => {
    assert.equal(clientIp("127.0.0.1", "203.0.113.7", trusted), "203.0.113.7");
    // A client-forged left part is skipped: the hop our proxies appended is the client.
    assert.equal(clientIp("127.0.0.1", "1.1.1.1, 203.0.113.7, 10.0.0.5", trusted), "203.0.113.7");
    assert.equal(clientIp("::ffff:127.0.0.1", "203.0.113.7", trusted), "203.0.113.7");
  });

  it("reads several X-Forwarded-For headers as one list", () => {
    assert.equal(clientIp("127.0.0.1", ["1.1.1.1", "203.0.113.8, 10.0.0.2"], trusted), "203.0.113.8");
  });

  it("accepts entries with ports and brackets, as some proxies write them", () => {
    assert.equal(clientIp("127.0.0.1", "203.0.113.7:5555", trusted), "203.0.113.7");
    assert.equal(clientIp("127.0.0.1", "[2001:db8::7]:443", trusted), "2001:db8::7");
    assert.equal(clientIp("127.0.0.1", "2001:DB8::8", trusted), "2001:db8::8");
  });

  it("stops at an unreadable entry, keeping the last address it could read", () => {
    assert.equal(clientIp("127.0.0.1", "203.0.113.7, garbage", trusted), "127.0.0.1");
    assert.equal(clientIp("127.0.0.1", "garbage, 10.0.0.3", trusted), "10.0.0.3");
  });

  it("is the leftmost hop when every hop is trusted, and the peer without a header", () => {
    assert.equal(clientIp("127.0.0.1", "10.0.0.9, 10.0.0.8", trusted), "10.0.0.9");
    assert.equal(clientIp("127.0.0.1", undefined, trusted), "127.0.0.1");
    assert.equal(clientIp("127.0.0.1", "", trusted), "127.0.0.1");
  });

  it("is null when the socket has no address", () => {
    assert.equal(clientIp(undefined, "203.0.113.7", trusted), null);
  });
});
