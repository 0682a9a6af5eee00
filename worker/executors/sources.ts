import { join } from "node:path";
import { ffprobe, ToolError, type Probe } from "../tools.ts";
import type { WorkContext } from "./executor.ts";

/** A source file in the scratch folder, with what ffprobe says of it. */
export interface LocalSource {
  local: string;
  probe: Probe;
  /** Its path in the source folder (for file_properties); absent for a file the worker made. */
  name?: string;
}

/**
 * Downloads a task's source files (the lease's `source` root) into the scratch folder and probes each; a file
 * ffprobe cannot read fails the task with ffprobe's reason. Progress runs from 0 to `upTo` while it downloads.
 */
export async function downloadSources(sources: readonly { path: string }[], ctx: WorkContext, upTo: number): Promise<LocalSource[]> {
  if (sources.length === 0) throw new ToolError("no source files", false);
  ctx.progress(0, "downloading");
  const locals: LocalSource[] = [];
  for (const [i, source] of sources.entries()) {
    const local = join(ctx.scratch, `source-${i}${source.path.slice(source.path.lastIndexOf(".")).toLowerCase()}`);
    await ctx.download(source.path, local);
    locals.push({ local, probe: await ffprobe(local, { signal: ctx.signal }), name: source.path });
    ctx.progress((upTo * (i + 1)) / sources.length, "downloading");
  }
  return locals;
}
