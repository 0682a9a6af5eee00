import type { Receiver } from "../../test/e2e/receiver.ts";
import type { Random } from "./random.ts";

/**
 * Makes callback receivers flap: each one is healthy for a few seconds, then for 1–4 s either down
 * (connections refused and reset) or answering 500, or 503 with `Retry-After: 1`. Bad spells are short next
 * to the drill's callback retry schedule, so a callback is delayed and retried, never failed for good.
 */

export interface FlapCounts {
  down: number;
  erroring: number;
}

type Mode = "ok" | "500" | "503";

export class Flapper {
  readonly counts: FlapCounts = { down: 0, erroring: 0 };
  private stopped = false;
  private loops: Promise<void>[] = [];
  private readonly receivers: readonly Receiver[];
  private readonly randomFor: (index: number) => Random;

  /** `randomFor(i)`: receiver i's own generator, so one seed replays each receiver's spells. */
  constructor(receivers: readonly Receiver[], randomFor: (index: number) => Random) {
    this.receivers = receivers;
    this.randomFor = randomFor;
  }

  start(): void {
    this.loops = this.receivers.map((receiver, index) => this.flap(receiver, this.randomFor(index)));
  }

  /** Ends the flapping: every receiver up and answering 200. */
  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.all(this.loops);
  }

  private async flap(receiver: Receiver, random: Random): Promise<void> {
    let mode: Mode = "ok";
    receiver.respondWith(() => (mode === "ok" ? 200 : mode === "500" ? 500 : { status: 503, headers: { "retry-after": "1" } }));
    while (!(await this.sleep(random.int(2_000, 6_000)))) {
      const roll = random.next();
      if (roll < 0.4) {
        this.counts.down++;
        await receiver.down();
      } else {
        this.counts.erroring++;
        mode = roll < 0.7 ? "500" : "503";
      }
      await this.sleep(random.int(1_000, 4_000));
      mode = "ok";
      await receiver.up();
    }
  }

  /** Sleeps up to `ms`, waking early when stopped; returns whether the flapping was stopped. */
  private async sleep(ms: number): Promise<boolean> {
    const until = Date.now() + ms;
    while (!this.stopped && Date.now() < until) await new Promise((resolve) => setTimeout(resolve, Math.min(100, until - Date.now())));
    return this.stopped;
  }
}
