import { describe, expect, it } from "vitest";
import { activeSecrets, ClientConfig, parseClientConfig, redactedConfig, ruleFor, withSections } from "../../src/domain/client-config";

describe("client configuration", () => {
  const rules = ClientConfig.parse({
    callback_rules: [
      { prefix: "https://cms.example/", headers: { Authorization: "Bearer s3cret" } },
      { prefix: "https://cms.example/hooks/vod", events: ["job.end"], body_template: { id: "{{job_id}}" } },
    ],
  }).callback_rules;

  it("picks the rule with the longest matching URL prefix", () => {
    expect(ruleFor("https://cms.example/hooks/vod/1", rules)?.events).toEqual(["job.end"]);
    expect(ruleFor("https://cms.example/other", rules)?.headers).toEqual({ Authorization: "Bearer s3cret" });
    expect(ruleFor("https://elsewhere.example/", rules)).toBeUndefined();
  });

  it("refuses engine-owned headers, header injection and unknown events", () => {
    expect(ClientConfig.safeParse({ callback_rules: [{ prefix: "https://x/", headers: { "Webhook-Signature": "v1,x" } }] }).success).toBe(false);
    expect(ClientConfig.safeParse({ callback_rules: [{ prefix: "https://x/", headers: { "X-A": "a\r\nX-B: b" } }] }).success).toBe(false);
    expect(ClientConfig.safeParse({ callback_rules: [{ prefix: "https://x/", headers: { "Bad Name": "a" } }] }).success).toBe(false);
    expect(ClientConfig.safeParse({ callback_rules: [{ prefix: "https://x/", events: ["task.begin"] }] }).success).toBe(false);
  });

  it.each([
    ["a SOH", "Bearer \u0001x"],
    ["a DEL", "Bearer x\u007f"],
    ["a NUL", "a\u0000b"],
    ["a vertical tab", "a\u000bb"],
    ["a leading space", " Bearer x"],
    ["a trailing tab", "Bearer x\t"],
    ["a character past U+00FF", "Bearer \u20ac"],
    ["a line break", "a\nb"],
  ])("refuses a header value with %s (RFC 9110 field-value)", (_what, value) => {
    const parsed = ClientConfig.safeParse({ callback_rules: [{ prefix: "https://x/", headers: { "X-Token": value } }] });
    expect(parsed.success).toBe(false);
    expect(parsed.error?.issues[0]?.message).toMatch(/valid HTTP field value/);
  });

  it("accepts field values with inner spaces and tabs, an empty value and obs-text", () => {
    for (const value of ["Bearer a b\tc", "", "caf\u00e9", "!#$%&'*+-.^_`|~"]) {
      expect(ClientConfig.safeParse({ callback_rules: [{ prefix: "https://x/", headers: { "X-Token": value } }] }).success, JSON.stringify(value)).toBe(true);
    }
  });

  it("keeps the parts of a stored configuration that still parse when a check was tightened", () => {
    const stored = JSON.stringify({
      callback_rules: [
        { prefix: "https://cms.example/", headers: { "X-Old": "bad\u0001value" } },
        { prefix: "https://ok.example/", headers: { "X-Ok": "fine" } },
      ],
      signing_secrets: [{ secret: "whsec_keep", expires_at: null }],
      storage: { locations: { R2: { driver: "r2", binding: "MEDIA", roots: { output_root: "vod" } } } },
    });
    const config = parseClientConfig(stored);
    expect(config.callback_rules.map((rule) => rule.prefix)).toStrictEqual(["https://ok.example/"]);
    expect(config.signing_secrets.map((entry) => entry.secret)).toStrictEqual(["whsec_keep"]);
    expect(config.storage.locations.R2?.roots).toStrictEqual({ output_root: "vod" });
  });

  it("signs with unexpired secrets only, newest first", () => {
    const now = Date.parse("2026-11-28T12:00:00Z");
    const config = ClientConfig.parse({
      signing_secrets: [
        { secret: "whsec_new", expires_at: null },
        { secret: "whsec_overlap", expires_at: "2026-11-29T00:00:00Z" },
        { secret: "whsec_gone", expires_at: "2026-11-28T11:59:59Z" },
      ],
    });
    expect(activeSecrets(config, now)).toEqual(["whsec_new", "whsec_overlap"]);
  });

  it("masks header values and secrets when shown", () => {
    const config = ClientConfig.parse({ callback_rules: rules, signing_secrets: [{ secret: "whsec_abc" }] });
    const shown = JSON.stringify(redactedConfig(config));
    expect(shown).not.toContain("s3cret");
    expect(shown).not.toContain("whsec_abc");
    expect(shown).toContain("Authorization");
  });

  it("treats an unreadable stored configuration as empty", () => {
    expect(parseClientConfig("not json")).toEqual({ callback_rules: [], signing_secrets: [], storage: { locations: {} } });
    expect(parseClientConfig(null)).toEqual({ callback_rules: [], signing_secrets: [], storage: { locations: {} } });
  });
});

describe("writing one section of a stored configuration", () => {
  it("keeps every other section as stored, even one that no longer parses", () => {
    const stored = JSON.stringify({ callback_rules: [{ prefix: "https://x/", headers: { "X-Old": "bad\u0001" } }], signing_secrets: [{ secret: "whsec_a", expires_at: null }], extra: 1 });
    const written = JSON.parse(withSections(stored, { storage: { locations: {} } }));
    expect(written).toStrictEqual({ callback_rules: [{ prefix: "https://x/", headers: { "X-Old": "bad\u0001" } }], signing_secrets: [{ secret: "whsec_a", expires_at: null }], extra: 1, storage: { locations: {} } });
    expect(JSON.parse(withSections("not json", { callback_rules: [] }))).toStrictEqual({ callback_rules: [] });
  });
});
