import { z } from "zod";

/**
 * The reference's audio track labelling (digest §5, "Track/file properties"): `file_properties` says what a
 * source file's audio is (`{"audio1.m4a": {"kind": "main-desc", "language": "dut"}}`), and with
 * `apply_track_properties`, `track_properties.audio` names and labels the tracks matching a language and a
 * role or kind. Here they become each audio rendition's language, HLS NAME and CHARACTERISTICS, and DASH Role
 * and Label. Pure.
 */

/** Text that goes into a packager's stream descriptor and a playlist attribute: no separators, quotes or controls. */
const LabelText = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[^,=$;"\\\u0000-\u001f\u007f]+$/, "may not contain , = $ ; \" \\ or control characters");
const LanguageTag = z.string().regex(/^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*$/, "must be a language tag (en, eng, pt-BR)");
/** HTML track kinds for audio, as the reference uses them. */
const Kind = z.enum(["main", "alternative", "main-desc", "description", "translation", "commentary"]);
/** DASH roles (urn:mpeg:dash:role:2011) an audio track can carry. */
const Role = z.enum(["main", "alternate", "supplementary", "commentary", "dub", "description"]);

export const FileProperties = z.record(z.string().min(1).max(255), z.object({ kind: Kind.optional(), language: LanguageTag.optional() })).refine((map) => Object.keys(map).length <= 100, "at most 100 files");
export type FileProperties = z.infer<typeof FileProperties>;

const TrackEntry = z
  .object({
    language: LanguageTag,
    role: Role.optional(),
    kind: Kind.optional(),
    properties: z.object({ track_name: LabelText.optional(), track_description: LabelText.optional(), track_role: Role.optional(), track_language: LanguageTag.optional() }),
  })
  .refine((entry) => entry.role === undefined || entry.kind === undefined, "role and kind must not be mixed in one entry");

export const TrackProperties = z.object({
  audio: z.array(TrackEntry).max(50).default([]),
  /** Text tracks: this engine packages no subtitles yet, so entries are refused rather than ignored. */
  textstream: z.array(z.unknown()).max(0, "subtitle tracks are not packaged yet").default([]),
});
export type TrackProperties = z.output<typeof TrackProperties>;

/** How one audio rendition is labelled in the package. */
export interface AudioLabels {
  language: string | null;
  /** HLS NAME (made unique within the group by the packager's caller); null: the language. */
  name: string | null;
  /** DASH Label; null: none. */
  label: string | null;
  /** DASH Role value; null: none. */
  role: string | null;
  /** HLS CHARACTERISTICS. */
  characteristics: string[];
}

const ROLE_OF_KIND: Record<z.infer<typeof Kind>, z.infer<typeof Role>> = {
  main: "main",
  alternative: "alternate",
  "main-desc": "description",
  description: "description",
  translation: "dub",
  commentary: "commentary",
};

/** ISO 639-2 codes files carry, as the ISO 639-1 tags clients write, for matching (the common ones). */
const TWO_LETTER: Record<string, string> = {
  eng: "en", fra: "fr", fre: "fr", deu: "de", ger: "de", spa: "es", ita: "it", nld: "nl", dut: "nl", por: "pt", swe: "sv",
  dan: "da", nor: "no", fin: "fi", pol: "pl", ces: "cs", cze: "cs", rus: "ru", ukr: "uk", tur: "tr", ara: "ar", heb: "he",
  hin: "hi", jpn: "ja", kor: "ko", zho: "zh", chi: "zh", ell: "el", gre: "el", hun: "hu", ron: "ro", rum: "ro", cym: "cy", wel: "cy", gle: "ga",
};

/** Whether two language tags name the same language (`en`, `eng`, `en-GB` all English). */
export function sameLanguage(a: string | null, b: string | null): boolean {
  if (a === null || b === null) return false;
  const primary = (tag: string) => {
    const head = tag.split("-")[0]!.toLowerCase();
    return TWO_LETTER[head] ?? head;
  };
  return primary(a) === primary(b);
}

/**
 * The labels of an audio track from the file it came from and the language it says: `file_properties` first
 * (the file's kind and language), then the first `track_properties.audio` entry of the same language whose
 * role or kind (when it names one) is the track's.
 */
export function audioLabels(file: string | null, language: string | null, files: FileProperties | undefined, tracks: TrackProperties | null): AudioLabels {
  const fileFacts = file === null ? undefined : files?.[file];
  const kind = fileFacts?.kind ?? null;
  const labels: AudioLabels = { language: fileFacts?.language ?? language, name: null, label: null, role: kind ? ROLE_OF_KIND[kind] : null, characteristics: [] };
  const entry = tracks?.audio.find(
    (candidate) =>
      sameLanguage(candidate.language, labels.language) &&
      (candidate.kind === undefined || candidate.kind === kind) &&
      (candidate.role === undefined || candidate.role === labels.role),
  );
  if (entry) {
    labels.name = entry.properties.track_name ?? null;
    labels.label = entry.properties.track_description ?? entry.properties.track_name ?? null;
    labels.role = entry.properties.track_role ?? labels.role;
    labels.language = entry.properties.track_language ?? labels.language;
  }
  if (labels.role === "description") labels.characteristics.push("public.accessibility.describes-video");
  return labels;
}
