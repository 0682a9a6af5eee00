import type { Random } from "./random.ts";

/**
 * What the drill submits: jobs of every shape (selftest chains and fan-outs, some failing on purpose and
 * retried; voddelete, asset_delete and drmswitch on objects seeded into R2 first), each with 1–3 callback
 * endpoints, spread over the load window; some are paused and resumed, a few are rerun.
 */

export type Shape = "chain" | "fanout" | "voddelete" | "asset_delete" | "drmswitch";
export type Action = "none" | "pause" | "rerun";

export interface PlannedJob {
  index: number;
  /** Index of the client that submits it. */
  client: number;
  shape: Shape;
  workflow: string;
  /** The job's parameters, without `rest_endpoints` (the receivers' URLs are known at submission). */
  parameters: Record<string, unknown>;
  /** Its callback endpoints: a receiver (index) and a path on it. */
  endpoints: { receiver: number; path: string }[];
  /** When to submit it, from the start of the load window. */
  atMs: number;
  action: Action;
  /** How long after the job is accepted the action starts (a pause lasts as long again). */
  actionDelayMs: number;
}

export interface Workload {
  jobs: PlannedJob[];
  /** Objects to put into the R2 bucket before the engine starts: key → body. */
  media: Record<string, string>;
}

export interface WorkloadOptions {
  jobs: number;
  clients: number;
  receivers: number;
  /** The load window the submissions are spread over. */
  spanMs: number;
  /** A client's storage root in the bucket (its `output_root`). */
  rootOf: (client: number) => string;
}

/** Shares of the shapes, in this order. */
const SHAPES: [Shape, number][] = [
  ["chain", 0.35],
  ["fanout", 0.25],
  ["voddelete", 0.14],
  ["asset_delete", 0.13],
  ["drmswitch", 0.13],
];

const DRM_ISM = `<?xml version="1.0"?><smil><head><param name="iss.license_server_url" value="https://pr.example"/></head><body><video src="v.ismv"/></body></smil>`;
const CLEAR_ISM = `<?xml version="1.0"?><smil><head><param name="hls_client_manifest_version" value="4"/></head><body><video src="v.ismv"/></body></smil>`;

export function planWorkload(random: Random, options: WorkloadOptions): Workload {
  const media: Record<string, string> = {};
  const jobs: PlannedJob[] = [];
  for (let index = 0; index < options.jobs; index++) {
    const client = index % options.clients;
    const shape = pickShape(random);
    const root = options.rootOf(client);
    const { workflow, parameters } = jobOf(shape, `j${index}`, root, media, random);
    const endpointCount = random.int(1, 3);
    const endpoints = Array.from({ length: endpointCount }, (_, k) => ({ receiver: (index + k) % options.receivers, path: `/j${index}/e${k}` }));
    // Pauses and reruns go to chains long enough to be under way when they arrive.
    const longChain = shape === "chain" && (parameters.tasks as number) >= 3 && (parameters.task_ms as number) >= 300;
    const action: Action = !longChain ? "none" : random.chance(0.3) ? "pause" : random.chance(0.12) ? "rerun" : "none";
    jobs.push({
      index,
      client,
      shape,
      workflow,
      parameters: { ...parameters, custom_data: { drill_job: index } },
      endpoints,
      atMs: Math.round((index / options.jobs) * options.spanMs + random.next() * 200),
      action,
      actionDelayMs: random.int(300, 1_500),
    });
  }
  return { jobs, media };
}

function pickShape(random: Random): Shape {
  let roll = random.next();
  for (const [shape, share] of SHAPES) {
    if (roll < share) return shape;
    roll -= share;
  }
  return SHAPES[0]![0];
}

/** The workflow and parameters of one job; storage jobs add the objects they work on to `media`. */
function jobOf(shape: Shape, name: string, root: string, media: Record<string, string>, random: Random): { workflow: string; parameters: Record<string, unknown> } {
  switch (shape) {
    case "chain":
    case "fanout": {
      const tasks = shape === "chain" ? random.int(2, 5) : random.int(3, 8);
      const parameters: Record<string, unknown> = { content_id: name, shape, tasks, task_ms: random.int(100, shape === "chain" ? 700 : 500) };
      // Planned failures stay within the retry limit: the task succeeds on a later attempt.
      if (random.chance(shape === "chain" ? 0.3 : 0.2)) Object.assign(parameters, { fail_task: `task_${random.int(1, tasks)}`, fail_times: random.int(1, 2) });
      return { workflow: "selftest", parameters };
    }
    case "voddelete": {
      const folder = `vod-${name}`;
      const segments = random.int(3, 6);
      for (let i = 0; i < segments; i++) media[`${root}/${folder}/seg-${i}.m4s`] = `segment ${i}`;
      media[`${root}/${folder}/${name}.ism`] = CLEAR_ISM;
      return { workflow: "voddelete", parameters: { content_id: folder, folder, source_storage: "R2" } };
    }
    case "asset_delete": {
      const files = Array.from({ length: random.int(2, 3) }, (_, i) => `assets-${name}/a${i}.jpg`);
      for (const file of files) media[`${root}/${file}`] = "jpeg";
      media[`${root}/assets-${name}/keep.png`] = "png";
      // A file that is not there is reported as missing, not a failure.
      return { workflow: "asset_delete", parameters: { content_id: name, files: [...files, `assets-${name}/never-there.gif`], source_storage: "R2" } };
    }
    case "drmswitch": {
      const folder = `drm-${name}`;
      const contentId = `drm${name}`;
      media[`${root}/${folder}/${contentId}_drm_g1.ism`] = DRM_ISM;
      media[`${root}/${folder}/1700000000_g2_${contentId}.drm`] = CLEAR_ISM;
      media[`${root}/${folder}/v.ismv`] = "media";
      // Off: the clear manifest becomes the active .ism and the DRM one is parked.
      return { workflow: "drmswitch", parameters: { content_id: contentId, folder, enable_drm: false, source_storage: "R2" } };
    }
  }
}
