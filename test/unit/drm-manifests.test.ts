import { describe, expect, it } from "vitest";
import { manifestHasDrm, manifestKindOf, parseManifestName, planSwitch, type Manifest } from "../../src/domain/drm-manifests";
import { fileNameProblem } from "../../src/storage/paths";

const folder = "content/vod/demo1";
const manifest = (name: string, kind: Manifest["kind"]): Manifest => {
  const parsed = parseManifestName(name)!;
  return { name, key: `${folder}/${name}`, state: parsed.state, kind, guid: parsed.guid ?? "generated", contentId: parsed.contentId ?? "demo1", epoch: parsed.epoch, format: parsed.format };
};

describe("manifest names (reference §3.4)", () => {
  it("parses active and parked names", () => {
    expect(parseManifestName("demo1_drm_57d8a1.ism")).toStrictEqual({ state: "active", kind: "drm", contentId: "demo1", guid: "57d8a1", epoch: null, format: "ism" });
    expect(parseManifestName("my_content_nodrm_ab-12.ism")).toStrictEqual({ state: "active", kind: "clear", contentId: "my_content", guid: "ab-12", epoch: null, format: "ism" });
    expect(parseManifestName("1700000000_ab12_my_content.drm")).toStrictEqual({ state: "parked", kind: null, contentId: "my_content", guid: "ab12", epoch: 1700000000, format: "ism" });
    expect(parseManifestName("demo1_drm_57d8a1.m3u8")).toStrictEqual({ state: "active", kind: "drm", contentId: "demo1", guid: "57d8a1", epoch: null, format: "m3u8" });
    expect(parseManifestName("1700000000_ab12_my.content.mpd.drm")).toStrictEqual({ state: "parked", kind: null, contentId: "my.content", guid: "ab12", epoch: 1700000000, format: "mpd" });
    expect(parseManifestName("index.m3u8")).toBeNull();
    // A content id ending in `_aes` keeps it in a parked pair's name (only a parked `.ism` is marked so).
    expect(parseManifestName("1700_g_promo_aes.m3u8.drm")).toMatchObject({ contentId: "promo_aes", kind: null, format: "m3u8" });
    expect(parseManifestName("1700_g_promo_aes.drm")).toMatchObject({ contentId: "promo", kind: "drm", format: "ism" });
    expect(parseManifestName("1700000000_ab12_demo1_aes.drm")).toMatchObject({ state: "parked", kind: "drm", contentId: "demo1" });
    expect(parseManifestName("demo1.ism")).toMatchObject({ state: "active", kind: null, guid: null });
    expect(parseManifestName("demo1.ismv")).toBeNull();
    expect(parseManifestName("notes.drm")).toBeNull();
  });

  it("tells a root manifest's kind by the package it points into, else by its key signalling", () => {
    expect(manifestKindOf("m3u8", `#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1\ndemo1_drm_ab12/cbcs/video_0.m3u8\n`)).toBe("drm");
    expect(manifestKindOf("m3u8", `#EXTM3U\n#EXT-X-MEDIA:TYPE=AUDIO,URI="demo1_nodrm_ab12/audio_0.m3u8"\n`)).toBe("clear");
    expect(manifestKindOf("mpd", `<MPD>\n  <BaseURL>my_drm_x_nodrm_ab12/</BaseURL>`)).toBe("clear");
    expect(manifestKindOf("mpd", `<MPD><Period><AdaptationSet><ContentProtection schemeIdUri="urn:mpeg:dash:mp4protection:2011"/>`)).toBe("drm");
    expect(manifestKindOf("m3u8", `#EXTM3U\n#EXT-X-KEY:METHOD=SAMPLE-AES,URI="skd://x"\nseg.m4s`)).toBe("drm");
    expect(manifestKindOf("m3u8", `#EXTM3U\n#EXT-X-KEY:METHOD=NONE\nseg.m4s`)).toBe("clear");
  });

  it("tells DRM manifests by their parameters", () => {
    expect(manifestHasDrm(`<smil><head><meta name="clientManifestRelativePath" content="x.ismc"/><param name="iss.license_server_url" value="https://pr"/></head></smil>`)).toBe(true);
    expect(manifestHasDrm(`<param name="widevine.drm_specific_data" value="x"/>`)).toBe(true);
    expect(manifestHasDrm(`<param name='hls_key' value='x'/>`)).toBe(true);
    expect(manifestHasDrm(`<smil><head><meta name="creator" content="drm tool"/><param name="hls_client_manifest_version" value="4"/></head><body><video src="demo1_drm.ismv"/></body></smil>`)).toBe(false);
  });
});

describe("planSwitch", () => {
  const drmActive = manifest("demo1_drm_g1.ism", "drm");
  const clearParked = manifest("1700000000_g2_demo1.drm", "clear");

  it("disabling DRM activates the clear manifest first, then parks the DRM one under its guid", () => {
    const result = planSwitch([drmActive, clearParked], false, folder, "demo1", 1800000000);
    expect(result).toStrictEqual({
      ok: true,
      plan: {
        activate: [{ from: "1700000000_g2_demo1.drm", to: "demo1_nodrm_g2.ism" }],
        park: [{ from: "demo1_drm_g1.ism", to: "1800000000_g1_demo1.drm" }],
        active: "demo1_nodrm_g2.ism",
      },
    });
  });

  it("round-trips: on → off → on gives back the same active name", () => {
    const off = planSwitch([drmActive, clearParked], false, folder, "demo1", 1800000000);
    if (!off.ok) throw new Error(off.error);
    const afterOff = [manifest("demo1_nodrm_g2.ism", "clear"), manifest("1800000000_g1_demo1.drm", "drm")];
    const on = planSwitch(afterOff, true, folder, "demo1", 1800000001);
    if (!on.ok) throw new Error(on.error);
    expect(on.plan.active).toBe(drmActive.name);
    expect(on.plan.park[0]?.to).toBe("1800000001_g2_demo1.drm");
  });

  it("does nothing when the wanted manifest is already active", () => {
    expect(planSwitch([drmActive, clearParked], true, folder, "demo1", 1)).toStrictEqual({ ok: true, plan: { activate: [], park: [], active: drmActive.name } });
  });

  it("picks the newest parked manifest of the wanted kind", () => {
    const older = manifest("1600000000_g3_demo1.drm", "clear");
    const result = planSwitch([drmActive, older, clearParked], false, folder, "demo1", 1);
    expect(result.ok && result.plan.activate[0]?.from).toBe(clearParked.name);
  });

  it("fails naming the missing manifest, and refuses several active ones", () => {
    const missing = planSwitch([drmActive], false, folder, "demo1", 1);
    expect(missing).toStrictEqual({
      ok: false,
      error: "the clear (nodrm) manifest is missing in 'content/vod/demo1': no demo1_nodrm_<guid>.ism and no parked clear (nodrm) manifest (<epoch>_<guid>_demo1.drm); generating it needs the packager",
    });
    const noDrm = planSwitch([manifest("demo1_nodrm_g2.ism", "clear")], true, folder, "demo1", 1);
    expect(noDrm.ok || noDrm.error).toMatch(/^the DRM manifest is missing in 'content\/vod\/demo1': no demo1_drm_<guid>\.ism/);
    const several = planSwitch([drmActive, manifest("demo1_nodrm_g2.ism", "clear")], true, folder, "demo1", 1);
    expect(several.ok || several.error).toBe("several active manifests in 'content/vod/demo1': demo1_drm_g1.ism, demo1_nodrm_g2.ism");
  });

  it("switches a vodstream folder's root manifests as one pair, each kept under its guid", () => {
    const pair = [manifest("demo1_drm_g1.m3u8", "drm"), manifest("demo1_drm_g1.mpd", "drm"), manifest("1700000000_g2_demo1.m3u8.drm", "clear"), manifest("1700000000_g2_demo1.mpd.drm", "clear")];
    const off = planSwitch(pair, false, folder, "demo1", 1800000000);
    expect(off).toStrictEqual({
      ok: true,
      plan: {
        activate: [
          { from: "1700000000_g2_demo1.m3u8.drm", to: "demo1_nodrm_g2.m3u8" },
          { from: "1700000000_g2_demo1.mpd.drm", to: "demo1_nodrm_g2.mpd" },
        ],
        park: [
          { from: "demo1_drm_g1.m3u8", to: "1800000000_g1_demo1.m3u8.drm" },
          { from: "demo1_drm_g1.mpd", to: "1800000000_g1_demo1.mpd.drm" },
        ],
        active: "demo1_nodrm_g2.m3u8",
      },
    });
  });

  it("refuses to activate half a pair, and names the pair's manifests when the wanted kind is missing", () => {
    const half = planSwitch([manifest("demo1_drm_g1.m3u8", "drm"), manifest("demo1_drm_g1.mpd", "drm"), manifest("1700000000_g2_demo1.m3u8.drm", "clear")], false, folder, "demo1", 1);
    expect(half.ok || half.error).toBe("the parked clear (nodrm) manifests 1700000000_g2_demo1.m3u8.drm in 'content/vod/demo1' have no .mpd to replace demo1_drm_g1.m3u8, demo1_drm_g1.mpd");
    const none = planSwitch([manifest("demo1_nodrm_g1.m3u8", "clear"), manifest("demo1_nodrm_g1.mpd", "clear")], true, folder, "demo1", 1);
    expect(none.ok || none.error).toMatch(/no demo1_drm_<guid>\.m3u8 and no parked DRM manifest \(<epoch>_<guid>_demo1\.m3u8\.drm\)/);
  });

  it("activates a parked manifest when none is active", () => {
    const result = planSwitch([clearParked], false, folder, "demo1", 1);
    expect(result.ok && result.plan).toStrictEqual({ activate: [{ from: clearParked.name, to: "demo1_nodrm_g2.ism" }], park: [], active: "demo1_nodrm_g2.ism" });
  });

  it("refuses, before anything moves, a plan whose new names are not one safe file name each", () => {
    const legacy = { ...manifest("demo1.ism", "clear"), contentId: "../escape" };
    const drmParked = manifest("1700000000_g3_demo1.drm", "drm");
    const result = planSwitch([legacy, drmParked], true, folder, "../escape", 1800000000, fileNameProblem);
    expect(result).toStrictEqual({ ok: false, error: `cannot name a manifest "1800000000_generated_../escape.drm" in '${folder}': it must be one file name (no '/')` });
    const sub = planSwitch([{ ...legacy, contentId: "sub/dir" }, drmParked], true, folder, "sub/dir", 1, fileNameProblem);
    expect(sub.ok || sub.error).toMatch(/must be one file name/);
  });
});
