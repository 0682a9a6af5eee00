import { z } from "zod";
import { DEFAULT_ROOT_KEY } from "../domain/storage-config";
import type { GetDrmKeysOutput } from "../executors/get-drm-keys";
import type { PublishOutput } from "../executors/publish";
import type { DeleteKeysInput } from "../executors/storage-folder";
import { TrackProperties } from "../domain/track-properties";
import { commonParameters, DrmSystem, StorageFolder, StorageParameter } from "./common";
import { defineWorkflow } from "./definition";
import { getDrmKeysTask, MEDIA_POOL, Offset, offsetSeconds, outputFileName, parkEarlierTask, publishTask, SourceUrl, TrickplayParameters, trickplayOptions } from "./media";
import { PackageContentId, type PackageInput, type PackageOutput } from "./vodstream";

/**
 * A clip's `start` / `end`: an offset into the stream (seconds, `hh:mm:ss.fff`), or a UTC time
 * (`2018-06-06T10:00:00.000`, `…Z`) on a stream carrying program-date-time, which the worker turns into an
 * offset from the stream's first EXT-X-PROGRAM-DATE-TIME.
 */
export const ClipTime = z.union([z.number(), z.string()]).transform((value, ctx): ClipTime => {
  if (typeof value === "string" && /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})?$/.test(value)) {
    // The reference writes UTC times without a zone ("2018-06-06T10:00:00.000"): they are UTC.
    const ms = Date.parse(/(Z|[+-]\d{2}:?\d{2})$/.test(value) ? value : `${value}Z`);
    if (Number.isFinite(ms)) return { utc: new Date(ms).toISOString() };
  }
  const seconds = typeof value === "number" ? value : offsetSeconds(value);
  if (seconds === null || !Number.isFinite(seconds) || seconds < 0 || seconds > 86_400 * 7) {
    ctx.addIssue({ code: "custom", message: "must be an offset (seconds, hh:mm:ss.fff) or a UTC time (2018-06-06T10:00:00.000Z)" });
    return z.NEVER;
  }
  return { offset: seconds };
});
export type ClipTime = { offset: number } | { utc: string };

const KeyHex = z
  .string()
  .transform((text) => text.replaceAll("-", "").toLowerCase())
  .refine((hex) => /^[0-9a-f]{32}$/.test(hex), "must be 16 bytes as 32 hex digits (or a UUID)");

export const Clip = z
  .object({
    source: SourceUrl.optional(),
    /** Redundant origins of the same stream (reference 157): tried in order until one answers. */
    sources: z.array(SourceUrl).min(1).max(5).optional(),
    start: ClipTime,
    end: ClipTime,
    /** A protected (CENC) source's key: decrypts it (reference 1.170.1). */
    key_id: KeyHex.optional(),
    content_key: KeyHex.optional(),
    filter: z.string().optional(),
  })
  .superRefine((clip, ctx) => {
    if (!clip.source === !clip.sources) ctx.addIssue({ code: "custom", path: ["source"], message: "give source or sources (one of them)" });
    if ("offset" in clip.start !== "offset" in clip.end) ctx.addIssue({ code: "custom", path: ["end"], message: "start and end must both be offsets or both UTC times" });
    const [start, end] = [clip.start, clip.end].map((time) => ("offset" in time ? time.offset * 1000 : Date.parse(time.utc)));
    if (!(end! > start!)) ctx.addIssue({ code: "custom", path: ["end"], message: "must be after start" });
    if ((clip.key_id === undefined) !== (clip.content_key === undefined)) ctx.addIssue({ code: "custom", path: ["content_key"], message: "key_id and content_key go together" });
    if (clip.filter !== undefined) ctx.addIssue({ code: "custom", path: ["filter"], message: "USP track filters are not supported: a clip keeps the stream's video and audio" });
    const urls = clip.sources ?? (clip.source ? [clip.source] : []);
    const pathOf = (url: string) => new URL(url, "http://x").pathname;
    const playlist = (url: string) => /\.(m3u8|mpd)$/i.test(pathOf(url));
    // ffmpeg decrypts CENC in MP4 files only (its HLS and DASH readers take no key).
    if (clip.content_key !== undefined && urls.some(playlist)) ctx.addIssue({ code: "custom", path: ["content_key"], message: "a key decrypts a progressive CENC MP4 source only, not an HLS or DASH stream" });
    const utc = "utc" in clip.start || "utc" in clip.end;
    if (utc && urls.some((url) => !/\.m3u8$/i.test(pathOf(url)))) ctx.addIssue({ code: "custom", path: ["start"], message: "UTC times are placed by an HLS stream's program-date-time: the source must be an .m3u8 playlist" });
  });
export type Clip = z.output<typeof Clip>;

export const VodcaptureParameters = z
  .looseObject({
    content_id: PackageContentId,
    output_folder: StorageFolder,
    clips: z.array(Clip).min(1).max(50),
    frame_accurate: z.boolean().default(true),
    copy_ts: z.boolean().default(false),
    generate_vod: z.boolean().default(true),
    generate_mp4: z.boolean().default(false),
    /** Reference default `"{content_id}.mp4"`. */
    mp4_filename: outputFileName([".mp4"]).optional(),
    mezzanine: z.boolean().default(false),
    drm: z.array(DrmSystem).max(6).default(["clear"]),
    enable_drm: z.boolean().default(true),
    create_thumbnail: z.boolean().default(true),
    thumbnail_time: Offset.default(0),
    preview_thumbnails: z.boolean().default(false),
    preview_thumbnails_interval: z.number().min(1).max(3600).default(10),
    ...TrickplayParameters,
    apply_track_properties: z.boolean().default(false),
    track_properties: TrackProperties.optional(),
    /** Empty `output_folder` before publishing (once the capture succeeded). */
    empty_target: z.boolean().default(true),
    destination_storage: StorageParameter,
    ...commonParameters,
  })
  .superRefine((p, ctx) => {
    if (!p.generate_vod && !p.generate_mp4) ctx.addIssue({ code: "custom", path: ["generate_vod"], message: "generate_vod or generate_mp4 must be true: there is nothing else to make" });
    if (p.copy_ts) ctx.addIssue({ code: "custom", path: ["copy_ts"], message: "true (source timestamps in the manifests) is not built: packages start at 0" });
    if (p.drm.includes("aes")) ctx.addIssue({ code: "custom", path: ["drm"], message: "aes (HLS AES-128) packages are not built yet: widevine, playready, fairplay, cenc and clear are" });
    if (p.drm.length === 0) ctx.addIssue({ code: "custom", path: ["drm"], message: "must list at least one of clear, widevine, playready, fairplay, cenc" });
  });
export type VodcaptureParameters = z.output<typeof VodcaptureParameters>;

/** What the media worker's `media.capture` gets. */
export interface CaptureInput {
  clips: { sources: string[]; start: ClipTime; end: ClipTime; key?: { key_id: string; content_key: string } }[];
  /** Re-encode (frames exactly at start and end) or cut on keyframes (stream copy). */
  frame_accurate: boolean;
  /** Package the joined clip as vodstream does, or null (MP4 only). */
  package: Omit<PackageInput, "sources"> | null;
  /** The joined clip as an MP4 of this name (generate_vod off), or null. */
  mp4_filename: string | null;
}

const isProtected = (p: VodcaptureParameters) => p.generate_vod && p.drm.some((system) => system !== "clear");
const mp4Name = (p: VodcaptureParameters) => p.mp4_filename ?? `${p.content_id}.mp4`;

/**
 * Reference §3.2 (media.md): clips `start`..`end` of HLS / DASH / MP4 streams, joined in order, frame-accurate
 * (re-encoded) or cut on keyframes (copied), then packaged as vodstream packages (`generate_vod`) and/or an MP4
 * (`generate_mp4`), published to `output_folder` (emptied first with `empty_target`, once the capture worked).
 */
export const vodcapture = defineWorkflow({
  name: "vodcapture",
  description:
    "Clips start..end (offsets, or UTC times on HLS streams with program-date-time) of HLS/DASH/MP4 sources, joined in order, frame_accurate (re-encoded) or cut on keyframes, packaged as CMAF HLS + DASH like vodstream (generate_vod, drm, trickplay, preview_thumbnails) and/or an MP4 (generate_mp4), published to output_folder.",
  usesWorkFolder: true,
  parameters: VodcaptureParameters,
  example: { content_id: "demo_1", output_folder: "demo_1", clips: [{ source: "https://media.example.com/live/index.m3u8", start: "00:10:00.000", end: "00:12:30.000" }], frame_accurate: true, generate_mp4: true },
  tasks: () => [
    getDrmKeysTask<VodcaptureParameters>(isProtected, []),
    {
      name: "capture",
      executor: "media.capture",
      runsOn: MEDIA_POOL,
      needs: ["get_drm_keys"],
      timeoutMs: 2 * 60 * 60_000,
      retry: { limit: 2 },
      input: (p, outputs): CaptureInput => ({
        clips: p.clips.map((clip) => ({
          sources: clip.sources ?? [clip.source!],
          start: clip.start,
          end: clip.end,
          ...(clip.key_id && clip.content_key ? { key: { key_id: clip.key_id, content_key: clip.content_key } } : {}),
        })),
        frame_accurate: p.frame_accurate,
        package: p.generate_vod
          ? {
              content_id: p.content_id,
              all_audio_tracks: true,
              thumbnail_time: p.create_thumbnail ? p.thumbnail_time : null,
              generate_mp4: p.generate_mp4 ? { mp4_filename: mp4Name(p), mezzanine: p.mezzanine } : null,
              preview_thumbnails: p.preview_thumbnails ? { interval: p.preview_thumbnails_interval } : null,
              trickplay: trickplayOptions(p),
              clear: p.drm.includes("clear") || !isProtected(p),
              track_properties: p.apply_track_properties ? (p.track_properties ?? null) : null,
              drm: (outputs.get_drm_keys as GetDrmKeysOutput | undefined) ?? null,
              enable_drm: p.enable_drm,
            }
          : null,
        mp4_filename: p.generate_vod ? null : mp4Name(p),
      }),
    },
    {
      name: "empty_target",
      executor: "storage.delete_keys",
      needs: ["capture"],
      when: (p) => p.empty_target,
      timeoutMs: 15 * 60_000,
      input: (p): DeleteKeysInput => ({ storage: p.destination_storage!, root_key: p.output_root ?? DEFAULT_ROOT_KEY, folder: p.output_folder, keys: [] }),
    },
    { ...publishTask<VodcaptureParameters>("capture", (p) => p.output_folder), needs: ["empty_target"] },
    // Without empty_target, an earlier package of the same content keeps its files, its root manifests parked.
    { ...parkEarlierTask<VodcaptureParameters>((p) => p.output_folder), when: (p) => p.generate_vod && !p.empty_target },
  ],
  result: (params, outputs) => {
    const captured = outputs.capture as (Partial<PackageOutput> & { duration?: number }) | undefined;
    const keys = (outputs.publish as PublishOutput | undefined)?.keys ?? [];
    const active = params.generate_vod ? keys.find((key) => captured?.package !== undefined && key.endsWith(`/${captured.package}.m3u8`)) : keys.find((key) => key.endsWith(`/${mp4Name(params)}`));
    return { message: active ?? "", files: keys, metadata: { duration: captured?.duration ?? null } };
  },
});
