/** Bounds how many tasks run at once while a request is still being read (backpressure on uploads). */
export class InFlight {
  private readonly running = new Set<Promise<unknown>>();

  constructor(private readonly max: number) {}

  /** Tracks a task; resolves once there is room for the next one. */
  async add(task: Promise<unknown>): Promise<void> {
    this.running.add(task);
    const settle = () => this.running.delete(task);
    task.then(settle, settle);
    if (this.running.size >= this.max) await Promise.race(this.running);
  }
}
