import { cpixRequest, CpixError, parseCpixResponse, type CpixAsk } from "../domain/cpix";
import { randomKeyId, schemesFor, staticKeys, TRACK_TYPES, uuidOf, type KeySet, type Scheme, type SystemSignalling } from "../domain/drm";
import { endpointProblem } from "../domain/endpoints";
import { NonRetryableError } from "../domain/errors";
import type { Executor, ExecutorContext } from "./executor";

/** vodstream's `get_drm_keys` (media.md, DRM): the content keys of a protected package, from the client's key provider. */

export interface GetDrmKeysInput {
  content_id: string;
  drm: string[];
}

/** What is stored and shown of the keys: their ids and the systems' signalling, and the keys sealed (key-seal.ts). */
export interface GetDrmKeysOutput {
  /** The systems each scheme's package carries. */
  schemes: Partial<Record<Scheme, string[]>>;
  key_ids: { scheme: Scheme; track: string; key_id: string }[];
  signalling: SystemSignalling[];
  /** The `ContentKey[]`, sealed for this job: opened only into a worker's lease input. */
  sealed_keys: string;
}

/** A key server's answer larger than this is not a CPIX document for a handful of keys. */
const MAX_ANSWER_BYTES = 1 << 20;

export const getDrmKeys: Executor = async (input, ctx): Promise<GetDrmKeysOutput> => {
  const { content_id, drm } = input as GetDrmKeysInput;
  const schemes = schemesFor(drm);
  const names = Object.keys(schemes) as Scheme[];
  if (names.length === 0) throw new NonRetryableError(`drm ${JSON.stringify(drm)} names no system this engine encrypts for`);
  const provider = await ctx.drm.provider();
  if (!provider) throw new NonRetryableError("this client has no DRM key provider: the operator sets one (PUT /admin/clients/{name}/drm) before protected packages can be made");
  let set: KeySet;
  if (provider.provider === "static") {
    set = { keys: await staticKeys(provider.seed, content_id, names), signalling: [] };
  } else {
    const ask: CpixAsk = {
      contentId: content_id,
      keys: names.flatMap((scheme) => TRACK_TYPES.map((track) => ({ scheme, track, key_id: randomKeyId() }))),
      systems: names.flatMap((scheme) => schemes[scheme]!.map((system) => ({ scheme, system }))),
    };
    set = await askKeyServer(provider.url, provider.headers ?? {}, ask, ctx);
  }
  ctx.log(`${set.keys.length} content keys from the ${provider.provider} key provider, key ids ${set.keys.map((key) => uuidOf(key.key_id)).join(", ")}`);
  return {
    schemes,
    key_ids: set.keys.map(({ scheme, track, key_id }) => ({ scheme, track, key_id })),
    signalling: set.signalling,
    sealed_keys: await ctx.drm.seal(set.keys),
  };
};

/**
 * One CPIX exchange. A refusal, a server error or an answer that is not the CPIX document asked for fails the
 * attempt with the reason (retried per the task's policy: key servers have bad minutes); the message names
 * the server's host and status, never a header value or a key.
 */
async function askKeyServer(url: string, headers: Record<string, string>, ask: CpixAsk, ctx: ExecutorContext): Promise<KeySet> {
  const problem = endpointProblem(url, ctx.drm.allowPrivateUrls);
  if (problem) throw new NonRetryableError(`the key server URL ${problem}`);
  const host = new URL(url).host;
  let response: Response;
  try {
    response = await ctx.drm.fetch(url, { method: "POST", headers: { ...headers, "content-type": "application/xml", accept: "application/xml" }, body: cpixRequest(ask), signal: ctx.signal });
  } catch (error) {
    throw new Error(`the key server at ${host} could not be reached: ${(error as Error).message}`);
  }
  const body = await response.text();
  if (!response.ok) throw new Error(`the key server at ${host} answered ${response.status}${response.statusText ? ` ${response.statusText}` : ""}`);
  if (body.length > MAX_ANSWER_BYTES) throw new Error(`the key server at ${host} answered ${body.length} bytes, more than a CPIX document of ${ask.keys.length} keys`);
  try {
    return parseCpixResponse(body, ask);
  } catch (error) {
    if (error instanceof CpixError) throw new Error(`the key server at ${host}: ${error.message}`);
    throw error;
  }
}
