import { describe, expect, it } from "vitest";
import { cpixRequest, parseCpixResponse, type CpixAsk } from "../../src/domain/cpix";
import { schemesFor, staticKeys, SYSTEM_IDS, uuidOf } from "../../src/domain/drm";
import { openFor, sealFor } from "../../src/domain/key-seal";
import { openDrmKeys } from "../../src/domain/lease-keys";
import { encryptionFlags } from "../../worker/executors/shaka.ts";

const ask: CpixAsk = {
  contentId: "demo&1",
  keys: [
    { scheme: "cenc", track: "VIDEO", key_id: "0123456789abcdef0123456789abcdef" },
    { scheme: "cenc", track: "AUDIO", key_id: "fedcba9876543210fedcba9876543210" },
  ],
  systems: [
    { scheme: "cenc", system: "widevine" },
    { scheme: "cenc", system: "playready" },
  ],
};
const b64 = (hex: string) => Buffer.from(hex, "hex").toString("base64");
const KEY_V = "00112233445566778899aabbccddeeff";
const KEY_A = "ffeeddccbbaa99887766554433221100";
/** A Widevine pssh box (version 0, no key ids in the header, 2 data bytes). */
const PSSH = Buffer.concat([Buffer.from([0, 0, 0, 34]), Buffer.from("pssh"), Buffer.from([0, 0, 0, 0]), Buffer.from(SYSTEM_IDS.widevine.replaceAll("-", ""), "hex"), Buffer.from([0, 0, 0, 2, 8, 1])]).toString("base64");

function answer(keys: Record<string, string>, extra = ""): string {
  return `<?xml version="1.0"?>
<cpix:CPIX xmlns:cpix="urn:dashif:org:cpix" xmlns:pskc="urn:ietf:params:xml:ns:keyprov:pskc" contentId="demo">
  <cpix:ContentKeyList>
${Object.entries(keys).map(([kid, key]) => `    <cpix:ContentKey kid="${uuidOf(kid).toUpperCase()}"><cpix:Data><pskc:Secret><pskc:PlainValue>${b64(key)}</pskc:PlainValue></pskc:Secret></cpix:Data></cpix:ContentKey>`).join("\n")}
  </cpix:ContentKeyList>
  <cpix:DRMSystemList>${extra}</cpix:DRMSystemList>
</cpix:CPIX>`;
}

describe("drm schemes", () => {
  it("packages each system with the scheme it needs: FairPlay cbcs, the others cenc; clear and aes need no key", () => {
    expect(schemesFor(["clear", "widevine", "playready", "fairplay", "widevine"])).toStrictEqual({ cenc: ["widevine", "playready"], cbcs: ["fairplay"] });
    expect(schemesFor(["clear"])).toStrictEqual({});
    expect(schemesFor(["cenc"])).toStrictEqual({ cenc: ["cenc"] });
  });
});

describe("static keys", () => {
  it("derive the same keys for the same seed and content, others for another content, seed, scheme or track", async () => {
    const seed = "a".repeat(32);
    const first = await staticKeys(seed, "demo1", ["cenc", "cbcs"]);
    expect(first).toHaveLength(4);
    expect(await staticKeys(seed, "demo1", ["cenc", "cbcs"])).toStrictEqual(first);
    const values = new Set(first.flatMap((key) => [key.key_id, key.key]));
    expect(values.size).toBe(8);
    for (const key of first) expect(key.key_id).toMatch(/^[0-9a-f]{32}$/);
    expect((await staticKeys(seed, "demo2", ["cenc"]))[0]!.key).not.toBe(first[0]!.key);
    expect((await staticKeys("b".repeat(32), "demo1", ["cenc"]))[0]!.key).not.toBe(first[0]!.key);
  });
});

describe("CPIX 2.3", () => {
  it("asks for each key id with its scheme and track type, and for each system's signalling", () => {
    const xml = cpixRequest(ask);
    expect(xml).toContain(`contentId="demo&#38;1"`);
    expect(xml).toContain(`<cpix:ContentKey kid="01234567-89ab-cdef-0123-456789abcdef" commonEncryptionScheme="cenc"/>`);
    expect(xml).toContain(`<cpix:DRMSystem kid="fedcba98-7654-3210-fedc-ba9876543210" systemId="9a04f079-9840-4286-ab92-e65be0885f95"><cpix:PSSH/></cpix:DRMSystem>`);
    expect(xml).toContain(`intendedTrackType="AUDIO"><cpix:AudioFilter/>`);
    expect(xml.match(/<cpix:DRMSystem /g)).toHaveLength(4);
  });

  it("takes the keys (any case of key id) and a PSSH as given", () => {
    const extra = `<cpix:DRMSystem kid="${uuidOf(ask.keys[0]!.key_id)}" systemId="${SYSTEM_IDS.widevine}"><cpix:PSSH>${PSSH}</cpix:PSSH></cpix:DRMSystem>`;
    const set = parseCpixResponse(answer({ [ask.keys[0]!.key_id]: KEY_V, [ask.keys[1]!.key_id]: KEY_A }, extra), ask);
    expect(set.keys.map((key) => key.key)).toStrictEqual([KEY_V, KEY_A]);
    expect(set.signalling).toStrictEqual([{ scheme: "cenc", system: "widevine", key_id: ask.keys[0]!.key_id, pssh: PSSH }]);
  });

  it("refuses an answer it cannot use, with a message that carries no key", () => {
    const bad: [string, RegExp][] = [
      ["<html>oops</html>", /not a CPIX document/],
      ["{not xml", /not a CPIX document|not XML/],
      [answer({ [ask.keys[0]!.key_id]: KEY_V }), /no content key for key id fedcba98-7654-3210-fedc-ba9876543210 \(AUDIO, cenc\)/],
      [answer({ [ask.keys[0]!.key_id]: KEY_V, [ask.keys[1]!.key_id]: "0011" }), /not 16 bytes/],
      [answer({ [ask.keys[0]!.key_id]: KEY_V, [ask.keys[1]!.key_id]: KEY_A }).replace(/<pskc:PlainValue>[^<]+<\/pskc:PlainValue>/, "<pskc:EncryptedValue/>"), /encrypted the content key/],
      [`<!DOCTYPE x [<!ENTITY a "aaaa">]>${answer({})}`, /DOCTYPE/],
      [answer({ [ask.keys[0]!.key_id]: KEY_V, [ask.keys[1]!.key_id]: KEY_A }, `<cpix:DRMSystem kid="${uuidOf(ask.keys[0]!.key_id)}" systemId="${SYSTEM_IDS.widevine}"><cpix:PSSH>AAAA</cpix:PSSH></cpix:DRMSystem>`), /not a pssh box/],
    ];
    for (const [body, message] of bad) {
      let thrown: Error | null = null;
      try {
        parseCpixResponse(body, ask);
      } catch (error) {
        thrown = error as Error;
      }
      expect(thrown?.message, body.slice(0, 60)).toMatch(message);
      expect(thrown!.message).not.toContain(KEY_V);
      expect(thrown!.message).not.toContain(b64(KEY_V));
    }
  });
});

describe("sealed keys", () => {
  it("open only for the job they were sealed for, under the same secret", async () => {
    const keys = [{ scheme: "cenc", track: "VIDEO", key_id: "01".repeat(16), key: KEY_V }];
    const sealed = await sealFor("job-1", keys, "secret-1");
    expect(sealed).not.toContain(KEY_V);
    expect(sealed).not.toContain(b64(KEY_V));
    expect(await openFor("job-1", sealed, "secret-1")).toStrictEqual(keys);
    await expect(openFor("job-2", sealed, "secret-1")).rejects.toThrow();
    await expect(openFor("job-1", sealed, "secret-2")).rejects.toThrow();
  });

  it("are opened into a lease's input as drm.keys; inputs without keys pass unchanged", async () => {
    const sealed = await sealFor("job-1", [{ key: KEY_V }], "s");
    const input = { content_id: "c", drm: { schemes: { cenc: ["widevine"] }, sealed_keys: sealed } };
    expect(await openDrmKeys("job-1", input, "s")).toStrictEqual({ content_id: "c", drm: { schemes: { cenc: ["widevine"] }, keys: [{ key: KEY_V }] } });
    const plain = { content_id: "c", drm: null };
    expect(await openDrmKeys("job-1", plain, undefined)).toBe(plain);
    await expect(openDrmKeys("job-1", input, undefined)).rejects.toThrow(/DRM_KEY_SECRET/);
  });
});

describe("shaka-packager's raw-key flags", () => {
  const keys = [
    { scheme: "cenc" as const, track: "VIDEO" as const, key_id: "01".repeat(16), key: KEY_V },
    { scheme: "cenc" as const, track: "AUDIO" as const, key_id: "02".repeat(16), key: KEY_A },
  ];
  it("encrypt from the first sample, with a key per track type, and shaka's PSSH for systems the key server gave none", () => {
    const flags = encryptionFlags({ scheme: "cenc", keys, systems: ["widevine", "playready"], signalling: [{ scheme: "cenc", system: "widevine", key_id: "01".repeat(16), pssh: PSSH }] });
    expect(flags.split("\n")).toStrictEqual([
      "--enable_raw_key_encryption",
      `--keys=label=VIDEO:key_id=${"01".repeat(16)}:key=${KEY_V},label=AUDIO:key_id=${"02".repeat(16)}:key=${KEY_A}`,
      "--protection_scheme=cenc",
      "--clear_lead=0",
      "--protection_systems=PlayReady",
      `--pssh=${Buffer.from(PSSH, "base64").toString("hex")}`,
      "",
    ]);
  });
});
