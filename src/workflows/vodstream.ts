import { z } from "zod";
import { INPUT_ROOT_KEY } from "../domain/storage-config";
import type { ContentKey } from "../domain/drm";
import { FileProperties, TrackProperties } from "../domain/track-properties";
import type { GetDrmKeysOutput } from "../executors/get-drm-keys";
import type { GetSourcesOutput } from "../executors/get-sources";
import type { PublishOutput } from "../executors/publish";
import type { DeleteFilesInput } from "../executors/storage-files";
import { DrmSystem, FileNameContentId, commonParameters, StorageFolder, StorageParameter } from "./common";
import { defineWorkflow } from "./definition";
import { getDrmKeysTask, getSourcesTask, sourceFolderRoots, MEDIA_POOL, Offset, outputFileName, parkEarlierTask, publishTask, TrickplayParameters, trickplayOptions, type TrickplayInput } from "./media";

/**
 * Options of the reference that this engine does not build yet: asking for one is refused with a message
 * rather than ignored (a client would otherwise wait for outputs that never come).
 */
const NOT_YET = ["encode_source", "encrypt_ismv"] as const;

/**
 * The content id names the package's folders and manifests and goes into shaka-packager's stream descriptors,
 * where `,` `=` and `$` have meanings: it is kept to the characters content ids are made of.
 */
export const PackageContentId = FileNameContentId.refine((text) => /^[A-Za-z0-9._-]+$/.test(text), "content_id names the package's files and may use only letters, digits, '.', '_' and '-' here");

export const VodstreamParameters = z
  .looseObject({
    content_id: PackageContentId,
    source_folder: StorageFolder,
    /** Reference default `"{source_folder}"`. */
    output_folder: StorageFolder.optional(),
    drm: z.array(DrmSystem).max(6).default(["clear"]),
    enable_drm: z.boolean().default(true),
    create_thumbnail: z.boolean().default(true),
    thumbnail_time: Offset.default(0),
    all_audio_tracks: z.boolean().default(true),
    /** What each source file's audio is: `{"audio1.m4a": {"kind": "main-desc", "language": "dut"}}` (digest §5). */
    file_properties: FileProperties.optional(),
    /** Name and label audio tracks by language and role (with `apply_track_properties`). */
    apply_track_properties: z.boolean().default(false),
    track_properties: TrackProperties.optional(),
    /** Delete the source files once the package is published. */
    delete_source: z.boolean().default(false),
    /** An MP4 of the sources beside the packages (reference §3.1). */
    generate_mp4: z.boolean().default(false),
    /** Reference default `"{content_id}.mp4"`. */
    mp4_filename: outputFileName([".mp4"]).optional(),
    mezzanine: z.boolean().default(false),
    /** A preview sprite + VTT (`<content_id>_sprite.jpg`, `<content_id>_thumbnails.vtt`). */
    preview_thumbnails: z.boolean().default(false),
    preview_thumbnails_interval: z.number().min(1).max(3600).default(10),
    ...TrickplayParameters,
    source_storage: StorageParameter,
    destination_storage: StorageParameter,
    ...commonParameters,
  })
  .superRefine((p, ctx) => {
    if (p.drm.includes("aes")) {
      ctx.addIssue({ code: "custom", path: ["drm"], message: "aes (HLS AES-128) packages are not built yet: widevine, playready, fairplay, cenc and clear are" });
    }
    if (p.drm.length === 0) ctx.addIssue({ code: "custom", path: ["drm"], message: "must list at least one of clear, widevine, playready, fairplay, cenc" });
    for (const option of NOT_YET) {
      if ((p as Record<string, unknown>)[option] === true) ctx.addIssue({ code: "custom", path: [option], message: `${option} is not built yet` });
    }
  });
export type VodstreamParameters = z.output<typeof VodstreamParameters>;

/** What the media worker's `media.package` gets. */
export interface PackageInput {
  content_id: string;
  sources: GetSourcesOutput["sources"];
  /** Every audio track (true), or the highest-bitrate one per language (false). */
  all_audio_tracks: boolean;
  /** Seconds into the source for `<content_id>_thumbnail.jpg`; null: no thumbnail. */
  thumbnail_time: number | null;
  /** An MP4 of the sources beside the packages, or null. */
  generate_mp4: { mp4_filename: string; mezzanine: boolean } | null;
  /** A preview sprite + VTT every `interval` seconds, or null. */
  preview_thumbnails: { interval: number } | null;
  /** Trick-play tiles in every package, or null. */
  trickplay: TrickplayInput | null;
  /** Publish a clear package (`clear` listed, or no protected system). */
  clear: boolean;
  /** The source files' audio kinds and languages, by file name. */
  file_properties?: FileProperties;
  /** Track names and labels to apply, or null. */
  track_properties?: TrackProperties | null;
  /** The protected packages' keys and systems (get_drm_keys), or null. */
  drm: PackageDrm | null;
  /** The protected package is the active one (when there is one); the other kind's root manifests are parked. */
  enable_drm: boolean;
}

/**
 * What `media.package` gets of the keys: as stored, the keys sealed (`sealed_keys`); in the worker's lease,
 * opened (`keys`) by the worker API (domain/lease-keys.ts).
 */
export type PackageDrm = Omit<GetDrmKeysOutput, "sealed_keys"> & { sealed_keys?: string; keys?: ContentKey[] };

/** What `media.package` reports (besides its files). */
export interface PackageOutput {
  /** The active package, `<content_id>_nodrm_<guid>` or `<content_id>_drm_<guid>`; its root manifests are this name + `.m3u8` / `.mpd`. */
  package: string;
  /** Every package made, active first. */
  packages: string[];
  duration: number;
}

const folderOf = (p: VodstreamParameters) => p.output_folder ?? p.source_folder;
const isProtected = (p: VodstreamParameters) => p.drm.some((system) => system !== "clear");

/**
 * Reference §3.1 (media.md, Packages and DRM): the media files of `source_folder` packaged ahead of time as
 * CMAF (fMP4) HLS + DASH by shaka-packager, every video rendition kept as a ladder. A clear package
 * `<content_id>_nodrm_<guid>/` and, when `drm` lists protected systems, `<content_id>_drm_<guid>/` with one
 * package per scheme they need (`cenc/`, `cbcs/`), its keys from the client's key provider (get_drm_keys).
 * Root manifests `<name>.m3u8` / `.mpd` beside them name the active package (`enable_drm` picks it); the
 * other kind's are parked as drmswitch parks them, so drmswitch can switch. Then, with `delete_source`, the
 * source files go.
 */
export const vodstream = defineWorkflow({
  name: "vodstream",
  description:
    "Packages the media files of source_folder as CMAF HLS + DASH (every video rendition as a ladder, audio per all_audio_tracks) with shaka-packager: a clear package and/or protected ones (cenc for widevine/playready/cenc, cbcs for fairplay) with keys from the client's key provider, plus a thumbnail at thumbnail_time, published to output_folder with the active root manifests (enable_drm picks which).",
  usesWorkFolder: true,
  parameters: VodstreamParameters,
  example: { content_id: "demo1", source_folder: "demo1/source", output_folder: "demo1", drm: ["clear", "widevine", "playready", "fairplay"], create_thumbnail: true, thumbnail_time: "1:34.000" },
  tasks: () => [
    getSourcesTask<VodstreamParameters>(),
    getDrmKeysTask<VodstreamParameters>(isProtected, ["get_sources"]),
    {
      name: "package",
      executor: "media.package",
      runsOn: MEDIA_POOL,
      // Skipped for clear packages, get_drm_keys stands in for get_sources.
      needs: ["get_drm_keys"],
      timeoutMs: 60 * 60_000,
      retry: { limit: 2 },
      fileRoots: sourceFolderRoots<VodstreamParameters>(),
      input: (p, outputs): PackageInput => ({
        content_id: p.content_id,
        sources: (outputs.get_sources as GetSourcesOutput | undefined)?.sources ?? [],
        all_audio_tracks: p.all_audio_tracks,
        thumbnail_time: p.create_thumbnail ? p.thumbnail_time : null,
        generate_mp4: p.generate_mp4 ? { mp4_filename: p.mp4_filename ?? `${p.content_id}.mp4`, mezzanine: p.mezzanine } : null,
        preview_thumbnails: p.preview_thumbnails ? { interval: p.preview_thumbnails_interval } : null,
        trickplay: trickplayOptions(p),
        clear: p.drm.includes("clear") || !isProtected(p),
        ...(p.file_properties ? { file_properties: p.file_properties } : {}),
        track_properties: p.apply_track_properties ? (p.track_properties ?? null) : null,
        drm: (outputs.get_drm_keys as GetDrmKeysOutput | undefined) ?? null,
        enable_drm: p.enable_drm,
      }),
    },
    publishTask<VodstreamParameters>("package", folderOf),
    // A package of this content published here before keeps its files, its root manifests parked.
    parkEarlierTask<VodstreamParameters>(folderOf),
    {
      name: "delete_source",
      executor: "storage.delete_files",
      needs: ["park_earlier"],
      when: (p) => p.delete_source,
      timeoutMs: 5 * 60_000,
      // The files get_sources found (the folder's own media files), nothing else of the folder.
      input: (p, outputs): DeleteFilesInput => ({
        storage: p.source_storage!,
        root_key: INPUT_ROOT_KEY,
        files: ((outputs.get_sources as GetSourcesOutput | undefined)?.sources ?? []).map((source) => `${p.source_folder}/${source.path}`),
      }),
    },
  ],
  result: (_params, outputs) => {
    const packaged = outputs.package as PackageOutput | undefined;
    const keys = (outputs.publish as PublishOutput | undefined)?.keys ?? [];
    // The active manifest's full path (the HLS one; its DASH sibling has the same name with `.mpd`).
    const active = keys.find((key) => packaged !== undefined && key.endsWith(`/${packaged.package}.m3u8`)) ?? "";
    return { message: active, files: keys, metadata: { duration: packaged?.duration ?? null } };
  },
});
