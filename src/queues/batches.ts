/** Limits of one `Queue.sendBatch` call (Cloudflare Queues): 100 messages, 256 KB in all. */
const MAX_BATCH_MESSAGES = 100;
/** Kept below 256 KB to leave room for the per-message overhead the platform counts. */
const MAX_BATCH_BYTES = 200_000;

const encoder = new TextEncoder();

/** Splits messages, in order, into batches that each fit one sendBatch call. */
export function queueBatches<Body>(messages: { body: Body }[]): { body: Body }[][] {
  const batches: { body: Body }[][] = [];
  let current: { body: Body }[] = [];
  let bytes = 0;
  for (const message of messages) {
    const size = encoder.encode(JSON.stringify(message.body)).byteLength;
    if (current.length > 0 && (current.length === MAX_BATCH_MESSAGES || bytes + size > MAX_BATCH_BYTES)) {
      batches.push(current);
      current = [];
      bytes = 0;
    }
    current.push(message);
    bytes += size;
  }
  if (current.length > 0) batches.push(current);
  return batches;
}
