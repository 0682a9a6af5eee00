/**
 * Keeps kills away from requests that must not be repeated blindly (a rerun creates a job each time): such a
 * request runs only while the engine is up, and a kill waits until none is in flight.
 */
export class KillGate {
  private inFlight = 0;
  private killing = false;

  /** Runs `request` while no kill is under way (waits for the restart first). */
  async whileUp<T>(request: () => Promise<T>): Promise<T> {
    while (this.killing) await tick();
    this.inFlight++;
    try {
      return await request();
    } finally {
      this.inFlight--;
    }
  }

  /** Runs `kill` (kill and restart) once no guarded request is in flight; none starts meanwhile. */
  async exclusive(kill: () => Promise<void>): Promise<void> {
    this.killing = true;
    try {
      while (this.inFlight > 0) await tick();
      await kill();
    } finally {
      this.killing = false;
    }
  }
}

const tick = () => new Promise((resolve) => setTimeout(resolve, 50));
