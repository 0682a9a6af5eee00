import { describe, expect, it } from "vitest";
import { audioLabels, FileProperties, sameLanguage, TrackProperties } from "../../src/domain/track-properties";

const tracks = TrackProperties.parse({
  audio: [
    { language: "en", kind: "main-desc", properties: { track_name: "English (AD)", track_description: "English audio description" } },
    { language: "en", properties: { track_name: "English", track_role: "main" } },
    { language: "fr", role: "dub", properties: { track_name: "Français (doublage)" } },
  ],
});
const files = FileProperties.parse({ "desc.m4a": { kind: "main-desc", language: "eng" }, "fr.m4a": { kind: "translation" } });

describe("audio track labels (digest §5, track and file properties)", () => {
  it("take a file's kind and language, then the first track entry of that language and kind", () => {
    expect(audioLabels("desc.m4a", "und", files, tracks)).toStrictEqual({ language: "eng", name: "English (AD)", label: "English audio description", role: "description", characteristics: ["public.accessibility.describes-video"] });
    // The main English track: no kind, so the entry without one (its role from track_role).
    expect(audioLabels("main.mp4", "eng", files, tracks)).toStrictEqual({ language: "eng", name: "English", label: "English", role: "main", characteristics: [] });
    // A translation (role dub) matches the entry that names that role.
    expect(audioLabels("fr.m4a", "fra", files, tracks)).toMatchObject({ name: "Français (doublage)", role: "dub" });
  });

  it("leave a track as its file says without properties, and match languages across ISO 639-1 and -2", () => {
    expect(audioLabels("x.mp4", "deu", undefined, null)).toStrictEqual({ language: "deu", name: null, label: null, role: null, characteristics: [] });
    expect([sameLanguage("en", "eng"), sameLanguage("fr", "fre"), sameLanguage("nl", "dut"), sameLanguage("en-GB", "eng"), sameLanguage("en", "fra"), sameLanguage(null, "en")]).toEqual([true, true, true, true, false, false]);
  });

  it("refuse labels that would break a stream descriptor or a playlist, mixed role and kind, and text tracks", () => {
    expect(TrackProperties.safeParse({ audio: [{ language: "en", properties: { track_name: "a,b=c" } }] }).success).toBe(false);
    expect(TrackProperties.safeParse({ audio: [{ language: "en", properties: { track_name: 'x"y' } }] }).success).toBe(false);
    expect(TrackProperties.safeParse({ audio: [{ language: "en", role: "main", kind: "main", properties: {} }] }).success).toBe(false);
    expect(TrackProperties.safeParse({ textstream: [{ language: "en" }] }).success).toBe(false);
    expect(FileProperties.safeParse({ "a.m4a": { language: "en,x" } }).success).toBe(false);
  });
});
