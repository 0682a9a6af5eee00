import { z } from "zod";
import { RootKey, StorageName } from "../domain/storage-config";
import { CONTROL, fileNameProblem, pathProblem } from "../storage/paths";

/** Parameters every workflow accepts (reference §3, common parameters). Kept exactly as sent: never trimmed. */
export const ContentId = z
  .string()
  .min(1, "content_id must not be empty")
  .max(256)
  .refine((text) => text.trim() === text, "content_id must not start or end with spaces (it is kept exactly as sent, never trimmed)")
  .refine((text) => !CONTROL.test(text), "content_id must not contain control characters (such as NUL, CR or LF)")
  .refine((text) => text.isWellFormed(), "content_id must be valid Unicode (it contains a lone surrogate)")
  .refine((text) => !/[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/.test(text), "content_id must not contain Unicode direction controls (such as U+202E)");
/** A content_id that becomes part of a file name (drmswitch's manifest names): one safe file name. */
export const FileNameContentId = ContentId.superRefine((text, ctx) => {
  const problem = fileNameProblem(text);
  if (problem) ctx.addIssue({ code: "custom", message: `content_id becomes part of file names and ${problem}` });
});

export const RestEndpoints = z
  .array(z.string().max(2048, "a callback URL may be at most 2048 characters"))
  .max(10, "at most 10 rest_endpoints")
  .default([]);
/** Any JSON value, echoed in the job callback. */
export const CustomData = z.json().optional();
/** The root key (of the client's storage configuration) the workflow works under; `output_root` when absent. */
export const OutputRoot = RootKey.optional();

export const commonParameters = {
  rest_endpoints: RestEndpoints,
  custom_data: CustomData,
  output_root: OutputRoot,
};

/** `source_storage` / `destination_storage`: absent → the client's default storage, filled in at submission. */
export const StorageParameter = StorageName.optional();

/** A path below a storage root (a folder or a file): relative, no `..`, no empty segments (workflows.md, Storage). */
export const StoragePath = z
  .string()
  .max(1024)
  .superRefine((path, ctx) => {
    const problem = pathProblem(path);
    if (problem) ctx.addIssue({ code: "custom", message: `path ${problem}` });
  });

/** A folder below a storage root; one trailing '/' is accepted and dropped. */
export const StorageFolder = z
  .string()
  .max(1024)
  .transform((path) => (path.endsWith("/") ? path.slice(0, -1) : path))
  .pipe(StoragePath);

/** The DRM systems of the reference's DRM parameter set. */
export const DrmSystem = z.enum(["playready", "widevine", "fairplay", "cenc", "aes", "clear"]);
