import { describe, expect, it } from "vitest";
import { endpointProblem } from "../../src/domain/endpoints";

const PRIVATE = [
  "http://localhost:8787/callback",
  "http://LOCALHOST./cb",
  "http://app.localhost/cb",
  "http://127.0.0.1/cb",
  "http://127.1.2.3:9000/cb",
  "http://2130706433/cb", // 127.0.0.1 written as one number
  "http://0x7f.1/cb",
  "http://0.0.0.0/cb",
  "http://10.0.0.1/cb",
  "http://10.255.255.255/cb",
  "http://172.16.0.1/cb",
  "http://172.31.255.255/cb",
  "http://192.168.1.10/cb",
  "http://169.254.169.254/latest/meta-data",
  "http://100.64.0.1/cb",
  "http://100.127.255.255/cb",
  "http://[::1]/cb",
  "http://[0:0:0:0:0:0:0:1]/cb",
  "http://[::]/cb",
  "http://[fc00::1]/cb",
  "http://[fd12:3456:789a::1]/cb",
  "http://[fe80::1]/cb",
  "http://[febf::1]/cb",
  "http://[::ffff:127.0.0.1]/cb",
  "http://[::ffff:10.1.2.3]/cb",
  "http://[::ffff:192.168.0.1]/cb",
  "http://[::ffff:a9fe:a9fe]/cb",
  "http://[::ffff:0:127.0.0.1]/cb", // IPv4-translated
  "http://[::127.0.0.1]/cb", // IPv4-compatible
  "http://[::10.0.0.1]/cb",
  "http://[2002:7f00:1::]/", // 6to4 of 127.0.0.1
  "http://[2002:a9fe:a9fe::]/", // 6to4 of 169.254.169.254
  "http://[2002:c0a8:101:1::1]/cb", // 6to4 of 192.168.1.1, with a subnet and host
  "http://[64:ff9b::127.0.0.1]/cb", // NAT64
  "http://[64:ff9b::a9fe:a9fe]/cb",
  "http://[64:ff9b:1::8.8.8.8]/cb", // local-use NAT64 (RFC 8215): the operator's own translators
  "http://[2001:0:7f00:1::1]/cb", // Teredo whose server is 127.0.0.1
  "http://[2001:0:808:808:0:0:f5ff:fffe]/cb", // Teredo whose client is 10.0.0.1 (bit-inverted)
  "http://[2001:db8::1]/cb", // documentation
  "http://[100::1]/cb", // discard-only
  "http://[ff02::1]/cb",
  "http://[fec0::1]/cb",
  "http://192.0.2.1/cb", // TEST-NET-1
  "http://198.51.100.7/cb",
  "http://203.0.113.9/cb",
  "http://198.18.0.1/cb",
  "http://224.0.0.1/cb",
  "http://255.255.255.255/cb",
  "http://printer.local/cb",
  "https://db.INTERNAL/cb",
  "https://svc.cluster.internal./cb",
];

const PUBLIC = [
  "https://cms.example.com/api/event/vuflow/taskenginecallback",
  "http://8.8.8.8/cb",
  "http://172.15.255.255/cb",
  "http://172.32.0.1/cb",
  "http://100.63.255.255/cb",
  "http://100.128.0.1/cb",
  "http://192.169.0.1/cb",
  "http://169.253.1.1/cb",
  "http://11.0.0.1/cb",
  "http://[2606:4700:4700::1111]/cb",
  "http://[::ffff:8.8.8.8]/cb",
  "http://[fbff::1]/cb",
  "http://[2002:808:808::1]/cb", // 6to4 of 8.8.8.8
  "http://[64:ff9b::8.8.8.8]/cb", // NAT64 of a public address
  "http://[2001:0:808:808:0:0:fefe:fefe]/cb", // Teredo: server 8.8.8.8, client 1.1.1.1
  "http://[2001:4860:4860::8888]/cb",
  "http://[::8.8.8.8]/cb",
  "https://localhost.example.com/cb",
  "https://internal.example.com/cb",
  "https://my-local/cb",
  "https://example.com:8443/hook?x=1#frag",
];

describe("endpointProblem", () => {
  it.each(PRIVATE)("refuses %s unless private callbacks are allowed", (url) => {
    expect(endpointProblem(url, false)).toMatch(/^must not point to /);
    expect(endpointProblem(url, true)).toBeNull();
  });

  it.each(PUBLIC)("accepts public %s", (url) => {
    expect(endpointProblem(url, false)).toBeNull();
  });

  it("says which rule a URL broke", () => {
    expect(endpointProblem("http://localhost/", false)).toBe("must not point to localhost");
    expect(endpointProblem("http://a.local/", false)).toBe("must not point to a .local or .internal name");
    expect(endpointProblem("http://10.1.1.1/", false)).toBe("must not point to a loopback, private or link-local address");
    expect(endpointProblem("http://[fe80::1]/", false)).toBe("must not point to a loopback, link-local or unique-local address");
    expect(endpointProblem("http://[2002:7f00:1::]/", false)).toBe("must not point to a loopback, private or link-local address (127.0.0.1 inside an IPv6 address)");
  });

  it.each([
    ["not a url", "must be an absolute http(s) URL"],
    ["/relative/path", "must be an absolute http(s) URL"],
    ["", "must be an absolute http(s) URL"],
    ["ftp://example.com/cb", "must use http or https"],
    ["file:///etc/passwd", "must use http or https"],
    ["javascript:alert(1)", "must use http or https"],
    ["ws://example.com/cb", "must use http or https"],
    ["https://user:secret@example.com/cb", "must not carry credentials"],
    ["https://user@example.com/cb", "must not carry credentials"],
    ["https://:pw@example.com/cb", "must not carry credentials"],
    ["https://example.com/a b", "must not contain spaces or control characters"],
    ["https://example.com/cb\r\nX-Injected: 1", "must not contain spaces or control characters"],
    ["https://example.com/\tcb", "must not contain spaces or control characters"],
    // The URL parser would drop these quietly; the engine refuses them instead of changing the URL.
    [" https://example.com/cb", "must not contain spaces or control characters"],
    ["https://example.com/cb ", "must not contain spaces or control characters"],
    ["https://example.com/cb\n", "must not contain spaces or control characters"],
    ["\thttps://example.com/cb", "must not contain spaces or control characters"],
    ["https://exa\tmple.com/cb", "must not contain spaces or control characters"],
    ["https://example.com/\u00a0cb", "must not contain spaces or control characters"],
    ["https://example.com/cb\u2028", "must not contain spaces or control characters"],
    ["https://example.com/\u0085cb", "must not contain spaces or control characters"],
  ])("refuses %j whatever the deployment allows", (url, problem) => {
    expect(endpointProblem(url, false)).toBe(problem);
    expect(endpointProblem(url, true)).toBe(problem);
  });
});
