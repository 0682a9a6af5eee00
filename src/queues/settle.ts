/** How long a batch waits for its messages' work before handing the rest to the invocation's `waitUntil`. */
export interface Handoff {
  budgetMs: number;
  waitUntil: (promise: Promise<unknown>) => void;
}

/**
 * Runs each message's work concurrently and settles each message on its own: acked when its work ends,
 * retried with backoff when it throws (a malformed body too, so it ends in the dead-letter queue).
 *
 * With a handoff, the batch stops waiting after `budgetMs`: work still running goes on under `waitUntil`
 * and its messages are acked. That is safe only where the job's coordinator leased the work and sends it
 * again when no report arrives (callback deliveries, task attempts), so nothing is lost, and it matters
 * because a queue hands out its next batch only when this one ends.
 */
export async function settleMessages<Body>(
  messages: readonly Message<Body>[],
  work: (body: Body) => Promise<void>,
  onFailure: (body: Partial<Body> | null, error: unknown) => void,
  handoff?: Handoff,
): Promise<void> {
  // Messages this invocation still has to ack or retry; a handed-off message leaves the set, acked.
  const unsettled = new Set(messages);
  const all = Promise.all(
    messages.map(async (message) => {
      let failed = false;
      try {
        await work(message.body);
      } catch (error) {
        onFailure(message.body as Partial<Body> | null, error);
        failed = true;
      }
      if (!unsettled.delete(message)) return;
      if (failed) message.retry({ delaySeconds: Math.min(60, 2 ** message.attempts) });
      else message.ack();
    }),
  );
  if (!handoff) return void (await all);

  let timer: ReturnType<typeof setTimeout> | undefined;
  await Promise.race([all, new Promise((resolve) => (timer = setTimeout(resolve, handoff.budgetMs)))]);
  clearTimeout(timer);
  if (unsettled.size === 0) return;
  const handedOff = [...unsettled];
  unsettled.clear();
  for (const message of handedOff) message.ack();
  handoff.waitUntil(all);
}
