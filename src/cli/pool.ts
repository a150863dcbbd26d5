import { Worker } from 'node:worker_threads';

/**
 * A fixed-size pool of worker threads, each running one task at a time. Hand-written rather than
 * tinypool or piscina (both support Node 20): the sweep needs only this — N workers started once,
 * one message per task, results by promise, every worker ended at the end — and a dependency
 * more would be one more package to install, audit and describe for about 80 lines.
 *
 * A worker that throws (a bug: inputs are checked before any run) rejects its task and every
 * queued one; the pool then refuses new tasks.
 */
export class WorkerPool<T, R> {
  private readonly workers: Worker[] = [];
  private readonly idle: Worker[] = [];
  private readonly queue: { task: T; resolve: (r: R) => void; reject: (e: unknown) => void }[] = [];
  private readonly current = new Map<Worker, { resolve: (r: R) => void; reject: (e: unknown) => void }>();
  private broken: Error | null = null;
  private closing = false;

  constructor(file: URL, size: number, workerData: unknown) {
    for (let i = 0; i < size; i++) {
      const w = new Worker(file, { workerData });
      w.on('message', (msg: R) => {
        const job = this.current.get(w);
        this.current.delete(w);
        this.idle.push(w);
        job?.resolve(msg);
        this.dispatch();
      });
      w.on('error', (e) => this.break(e));
      w.on('exit', (code) => {
        if (!this.closing) this.break(new Error(`a sweep worker exited with code ${code}`));
      });
      this.workers.push(w);
      this.idle.push(w);
    }
  }

  get size(): number {
    return this.workers.length;
  }

  /** Send every worker a message that needs no answer (set-up before its first task; queued until it listens). */
  broadcast(message: unknown): void {
    for (const w of this.workers) w.postMessage(message);
  }

  run(task: T): Promise<R> {
    if (this.broken) return Promise.reject(this.broken);
    return new Promise<R>((resolve, reject) => {
      this.queue.push({ task, resolve, reject });
      this.dispatch();
    });
  }

  private dispatch(): void {
    while (this.idle.length > 0 && this.queue.length > 0 && !this.broken) {
      const w = this.idle.shift()!;
      const job = this.queue.shift()!;
      this.current.set(w, job);
      w.postMessage(job.task);
    }
  }

  private break(e: unknown): void {
    if (this.broken) return;
    this.broken = e instanceof Error ? e : new Error(String(e));
    for (const job of this.current.values()) job.reject(e);
    for (const job of this.queue) job.reject(e);
    this.current.clear();
    this.queue.length = 0;
  }

  /** End every worker. */
  async close(): Promise<void> {
    this.closing = true;
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}
