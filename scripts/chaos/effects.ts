import type { PlannedJob } from "./workload.ts";

/**
 * What a storage job that completed must have left in the bucket (a task run twice, after a kill or a
 * duplicated message, must still leave this). Returns what is wrong, or null; selftest jobs touch nothing.
 */
export function storageEffectProblem(job: PlannedJob, root: string, keys: readonly string[]): string | null {
  const p = job.parameters;
  switch (job.shape) {
    case "voddelete": {
      const left = keys.filter((key) => key.startsWith(`${root}/${String(p.folder)}/`));
      return left.length === 0 ? null : `voddelete left ${left.join(", ")}`;
    }
    case "asset_delete": {
      const folder = `${root}/assets-j${job.index}/`;
      const left = keys.filter((key) => key.startsWith(folder));
      return left.length === 1 && left[0] === `${folder}keep.png` ? null : `asset_delete left ${left.join(", ")} (expected only keep.png)`;
    }
    case "drmswitch": {
      const folder = `${root}/${String(p.folder)}/`;
      const id = String(p.content_id);
      const left = keys.filter((key) => key.startsWith(folder)).map((key) => key.slice(folder.length)).sort();
      const ok =
        left.length === 3 && left.includes(`${id}_nodrm_g2.ism`) && left.includes("v.ismv") && left.some((name) => new RegExp(`^\\d+_g1_${id}\\.drm$`).test(name));
      return ok ? null : `drmswitch left ${left.join(", ")} (expected ${id}_nodrm_g2.ism, <epoch>_g1_${id}.drm, v.ismv)`;
    }
    default:
      return null;
  }
}
