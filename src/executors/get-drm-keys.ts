import { cpixRequest, CpixError, parseCpixResponse, type CpixAsk } from "../domain/cpix";
import { randomKeyId, schemesFor, staticKeys, TRACK_TYPES, uuidOf, type KeySet, type Scheme, type SystemSignalling } from "../domain/drm";
import { keyServerUrlProblem } from "../domain/endpoints";
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
  // Checked before a key server is asked: keys that could not be kept for the worker are not minted at all.
  if (!ctx.drm.canSeal) throw new NonRetryableError(NO_SECRET);
  const provider = await ctx.drm.provider();
  if (!provider) throw new NonRetryableError("this client has no DRM key provider: the operator sets one (PUT /admin/clients/{name}/drm) before protected packages can be made");
  let set: KeySet;
  if (provider.provider === "static") {
    set = { keys: await staticKeys(provider.seed, content_id, names), signalling: [] };
  } else {
    // One document per scheme: key servers refuse mixed encryption schemes in one request (SPEKE v2's 422).
    set = { keys: [], signalling: [] };
    for (const scheme of names) {
      const ask: CpixAsk = {
        contentId: content_id,
        keys: TRACK_TYPES.map((track) => ({ scheme, track, key_id: randomKeyId() })),
        systems: schemes[scheme]!.map((system) => ({ scheme, system })),
      };
      const answer = await askKeyServer(provider.url, provider.headers ?? {}, ask, ctx);
      set.keys.push(...answer.keys);
      set.signalling.push(...answer.signalling);
    }
  }
  ctx.log(`${set.keys.length} content keys from the ${provider.provider} key provider, key ids ${set.keys.map((key) => uuidOf(key.key_id)).join(", ")}`);
  return {
    schemes,
    key_ids: set.keys.map(({ scheme, track, key_id }) => ({ scheme, track, key_id })),
    signalling: set.signalling,
    sealed_keys: await ctx.drm.seal(set.keys),
  };
};

export const NO_SECRET = "this deployment has no DRM_KEY_SECRET (wrangler secret put DRM_KEY_SECRET): DRM keys cannot be kept for the worker";

/**
 * One CPIX exchange. A server error or an answer that is not the CPIX document asked for fails the attempt
 * with the reason (retried per the task's policy: key servers have bad minutes); a refusal (4xx: a wrong
 * header, say) or a redirect fails it for good. Redirects are not followed: the client's headers and the
 * request go only to the configured server. The message names the server's host and status, never a header
 * value or a key.
 */
async function askKeyServer(url: string, headers: Record<string, string>, ask: CpixAsk, ctx: ExecutorContext): Promise<KeySet> {
  const problem = keyServerUrlProblem(url, ctx.drm.allowPrivateUrls);
  if (problem) throw new NonRetryableError(`the key server URL ${problem}`);
  const host = new URL(url).host;
  let response: Response;
  try {
    response = await ctx.drm.fetch(url, { method: "POST", redirect: "manual", headers: { ...headers, "content-type": "application/xml", accept: "application/xml" }, body: cpixRequest(ask), signal: ctx.signal });
  } catch (error) {
    throw new Error(`the key server at ${host} could not be reached: ${(error as Error).message}`);
  }
  const status = `${response.status}${response.statusText ? ` ${response.statusText}` : ""}`;
  if (response.status >= 300 && response.status < 400) {
    await response.body?.cancel();
    throw new NonRetryableError(`the key server at ${host} answered ${status} (a redirect, not followed: configure the URL it points to)`);
  }
  if (!response.ok) {
    await response.body?.cancel();
    const final = response.status >= 400 && response.status < 500 && response.status !== 408 && response.status !== 429;
    throw final ? new NonRetryableError(`the key server at ${host} refused the request: ${status}`) : new Error(`the key server at ${host} answered ${status}`);
  }
  const body = await boundedText(response, MAX_ANSWER_BYTES);
  if (body === null) throw new Error(`the key server at ${host} answered more than ${MAX_ANSWER_BYTES} bytes, more than a CPIX document of ${ask.keys.length} keys`);
  try {
    return parseCpixResponse(body, ask);
  } catch (error) {
    if (error instanceof CpixError) throw new Error(`the key server at ${host}: ${error.message}`);
    throw error;
  }
}

/** A response's text, or null once it passes `limit` bytes (read no further). */
async function boundedText(response: Response, limit: number): Promise<string | null> {
  if (Number(response.headers.get("content-length") ?? 0) > limit) {
    await response.body?.cancel();
    return null;
  }
  const reader = response.body?.getReader();
  if (!reader) return "";
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > limit) {
      await reader.cancel();
      return null;
    }
    chunks.push(value);
  }
  const bytes = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return new TextDecoder().decode(bytes);
}
