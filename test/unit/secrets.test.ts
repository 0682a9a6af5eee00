import { describe, expect, it } from "vitest";
import { MASK, maskSecrets } from "../../src/domain/secrets";

describe("maskSecrets", () => {
  it("masks the values of secret-looking keys at any depth, arrays included", () => {
    const input = {
      content_id: "demo1",
      api_key: "k-123",
      apiKey: "k-456",
      "api-key": "k-789",
      storage: { type: "S3", access_token: "tok", sas: "sv=2020&sig=abc", nested: [{ password: "p", user: "u" }] },
      drm: { content_key: "00112233", playready_key: "aabb", key_id: "kid-1" },
      headers: { Authorization: "Bearer xyz", "X-Trace": "t" },
      client_secret: "s",
      credentials: { user: "a", pass: "b" },
      passwd: "p2",
      list: [1, "two", null, { token: "t" }],
    };
    expect(maskSecrets(input)).toEqual({
      content_id: "demo1",
      api_key: MASK,
      apiKey: MASK,
      "api-key": MASK,
      storage: { type: "S3", access_token: MASK, sas: MASK, nested: [{ password: MASK, user: "u" }] },
      drm: { content_key: MASK, playready_key: MASK, key_id: "kid-1" },
      headers: { Authorization: MASK, "X-Trace": "t" },
      client_secret: MASK,
      credentials: MASK,
      passwd: MASK,
      list: [1, "two", null, { token: MASK }],
    });
  });

  it("never leaks a secret anywhere in the serialised result", () => {
    const secret = "s3cr3t-value";
    const masked = JSON.stringify(maskSecrets({ a: [{ b: { webhook_secret: secret } }], password: { deep: secret } }));
    expect(masked).not.toContain(secret);
  });

  it("returns a copy and leaves the input untouched", () => {
    const input = { token: "t", keep: { x: 1 } };
    const masked = maskSecrets(input) as typeof input;
    expect(input.token).toBe("t");
    expect(masked.keep).not.toBe(input.keep);
    expect(masked.keep).toEqual({ x: 1 });
  });

  it("passes primitives and null through", () => {
    for (const value of [null, undefined, 0, "password", true]) expect(maskSecrets(value)).toBe(value);
  });
});
