/**
 * Test-only queue fault injection for the chaos drill (scripts/chaos): a Queue binding whose sends lose
 * some messages and send others twice, the second copy a little later, as an at-least-once transport may.
 * Reached only through `withQueueFaults` (queue-faults.ts), which no production build contains.
 */

/** Chances (0–1) that a message is dropped, or sent a second time. */
export interface QueueFaultRates {
  drop: number;
  duplicate: number;
}

/** What the drill counts: one line per injected fault in the worker's log. */
export type FaultReport = (fault: "drop" | "duplicate", queue: string) => void;

/** The longest delay of a duplicate's second copy, so it may arrive after later messages. */
const MAX_DUPLICATE_DELAY_SECONDS = 2;

/** Parses the `FAULTS` var: `drop=0.05,duplicate=0.05` (either may be left out; absent or empty: none). */
export function parseFaultRates(text: string | undefined): QueueFaultRates {
  const rates: QueueFaultRates = { drop: 0, duplicate: 0 };
  for (const part of (text ?? "").split(",").map((item) => item.trim()).filter((item) => item !== "")) {
    const [name, value, ...rest] = part.split("=");
    const rate = Number(value);
    if ((name !== "drop" && name !== "duplicate") || rest.length > 0 || value === undefined || value.trim() === "" || !(rate >= 0 && rate <= 1)) {
      throw new Error(`FAULTS: '${part}' is not drop=<0..1> or duplicate=<0..1>`);
    }
    rates[name] = rate;
  }
  return rates;
}

/** One log line per fault, which the drill counts; on stderr-level `warn` so it shows at the default log level. */
export const logFault: FaultReport = (fault, queue) => console.warn(JSON.stringify({ level: "warn", message: "queue fault injected", fault, queue }));

/** Wraps a Queue binding so that its sends drop and duplicate messages at the given rates. */
export function faultyQueue<Body>(queue: Queue<Body>, name: string, rates: QueueFaultRates, random: () => number = Math.random, report: FaultReport = logFault): Queue<Body> {
  /** The messages that go out for one message asked for: none, it, or it and a late copy of it. */
  const fate = (message: MessageSendRequest<Body>): MessageSendRequest<Body>[] => {
    if (random() < rates.drop) {
      report("drop", name);
      return [];
    }
    if (random() < rates.duplicate) {
      report("duplicate", name);
      const delaySeconds = Math.floor(random() * (MAX_DUPLICATE_DELAY_SECONDS + 1));
      return [message, { ...message, delaySeconds: (message.delaySeconds ?? 0) + delaySeconds }];
    }
    return [message];
  };
  const sendAll = async (messages: MessageSendRequest<Body>[], options?: QueueSendBatchOptions): Promise<QueueSendBatchResponse> => {
    if (messages.length === 0) return { metadata: { metrics: { backlogCount: 0, backlogBytes: 0 } } };
    return queue.sendBatch(messages, options);
  };
  return {
    metrics: () => queue.metrics(),
    // A message's own options (delay, content type) travel with each of its copies.
    send: async (body, options) => sendAll(fate({ body, ...options })),
    sendBatch: async (messages, options) => sendAll([...messages].flatMap(fate), options),
  };
}
