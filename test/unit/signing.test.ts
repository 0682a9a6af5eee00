import { Webhook } from "standardwebhooks";
import { describe, expect, it } from "vitest";
import { isSigningSecret, newSigningSecret, signatureHeader } from "../../src/domain/signing";

describe("Standard Webhooks signatures", () => {
  const body = JSON.stringify({ job_id: "01J", status: "completed", sequence: 7 });

  it("are accepted by the standardwebhooks package acting as the receiver", async () => {
    const secret = newSigningSecret();
    expect(isSigningSecret(secret)).toBe(true);
    const timestamp = Math.floor(Date.now() / 1000);
    const signature = await signatureHeader([secret], "cb_01J_7_0", timestamp, body);
    expect(signature).toMatch(/^v1,[A-Za-z0-9+/]+=*$/);
    const headers = { "webhook-id": "cb_01J_7_0", "webhook-timestamp": String(timestamp), "webhook-signature": signature };
    expect(new Webhook(secret).verify(body, headers)).toEqual(JSON.parse(body));
  });

  it("match the package's own signing byte for byte", async () => {
    const secret = newSigningSecret();
    const timestamp = 1_795_000_000;
    expect(await signatureHeader([secret], "msg_1", timestamp, body)).toBe(new Webhook(secret).sign("msg_1", new Date(timestamp * 1000), body));
  });

  it("carry one signature per active secret during a rotation, each verifiable by its receiver", async () => {
    const [newer, older] = [newSigningSecret(), newSigningSecret()];
    const timestamp = Math.floor(Date.now() / 1000);
    const header = await signatureHeader([newer, older], "cb_x", timestamp, body);
    expect(header.split(" ")).toHaveLength(2);
    const headers = { "webhook-id": "cb_x", "webhook-timestamp": String(timestamp), "webhook-signature": header };
    expect(() => new Webhook(newer).verify(body, headers)).not.toThrow();
    expect(() => new Webhook(older).verify(body, headers)).not.toThrow();
    expect(() => new Webhook(newSigningSecret()).verify(body, headers)).toThrow();
  });

  it("do not verify a tampered body, id or timestamp", async () => {
    const secret = newSigningSecret();
    const timestamp = Math.floor(Date.now() / 1000);
    const signature = await signatureHeader([secret], "cb_1", timestamp, body);
    const verify = (payload: string, id: string, ts: number) =>
      new Webhook(secret).verify(payload, { "webhook-id": id, "webhook-timestamp": String(ts), "webhook-signature": signature });
    expect(() => verify(body.replace("completed", "failed"), "cb_1", timestamp)).toThrow();
    expect(() => verify(body, "cb_2", timestamp)).toThrow();
    expect(() => verify(body, "cb_1", timestamp - 1)).toThrow();
  });
});
