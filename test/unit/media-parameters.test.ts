import { describe, expect, it } from "vitest";
import { Offset, offsetSeconds } from "../../src/workflows/media";
import { VodstreamParameters } from "../../src/workflows/vodstream";

describe("media time offsets", () => {
  it("read seconds, hh:mm:ss.fffffff and m:ss.fff as the reference writes them", () => {
    expect(offsetSeconds("7.04")).toBe(7.04);
    expect(offsetSeconds("00:00:07.0400000")).toBeCloseTo(7.04, 9);
    expect(offsetSeconds("1:34.000")).toBe(94);
    expect(offsetSeconds("01:02:03")).toBe(3723);
    for (const bad of ["1:75", "7s", "", "-1", "1:2:3:4"]) expect(offsetSeconds(bad), bad).toBeNull();
  });

  it("refuse UTC times with a message saying they are not supported yet", () => {
    const parsed = Offset.safeParse("2026-11-30T10:00:00.000Z");
    expect(parsed.success).toBe(false);
    expect(parsed.error!.issues[0]!.message).toContain("UTC times (streams with program-date-time) are not supported yet");
  });
});

describe("vodstream parameters", () => {
  it("default to a clear package with a thumbnail at 0 s and every audio track", () => {
    expect(VodstreamParameters.parse({ content_id: "c", source_folder: "src/" })).toMatchObject({ source_folder: "src", drm: ["clear"], create_thumbnail: true, thumbnail_time: 0, all_audio_tracks: true, delete_source: false });
  });

  it("keep content_id to the characters a package's file names and shaka-packager's descriptors can carry", () => {
    for (const bad of ["a,b", "a=b", "a$b", "a b"]) expect(VodstreamParameters.safeParse({ content_id: bad, source_folder: "s" }).success, bad).toBe(false);
    expect(VodstreamParameters.safeParse({ content_id: "Demo_1.v2-x", source_folder: "s" }).success).toBe(true);
  });

  it("refuse what is not built yet rather than ignore it", () => {
    const parsed = VodstreamParameters.safeParse({ content_id: "c", source_folder: "s", drm: ["clear", "aes"], encode_source: true, generate_mp4: true, preview_thumbnails: false });
    expect(parsed.success).toBe(false);
    expect(parsed.error!.issues.map((issue) => issue.path.join("."))).toEqual(["drm", "encode_source"]);
    expect(VodstreamParameters.safeParse({ content_id: "c", source_folder: "s", drm: [] }).success).toBe(false);
  });

  it("take the protected systems: cenc for widevine, playready and cenc; cbcs for fairplay", () => {
    expect(VodstreamParameters.parse({ content_id: "c", source_folder: "s", drm: ["widevine", "playready", "fairplay", "cenc"] }).drm).toHaveLength(4);
    expect(VodstreamParameters.parse({ content_id: "c", source_folder: "s" }).drm).toEqual(["clear"]);
  });
});
