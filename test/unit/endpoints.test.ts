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
  ])("refuses %j whatever the deployment allows", (url, problem) => {
    expect(endpointProblem(url, false)).toBe(problem);
    expect(endpointProblem(url, true)).toBe(problem);
  });
});
