/**
 * At most `concurrency` tasks at once, and at least `intervalMs` between the starts of two
 * (robots.txt's Crawl-delay): a school's small server should not notice an audit.
 */
export class Polite {
  private active = 0;
  private nextStart = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(
    private readonly concurrency: number,
    private readonly intervalMs = 0,
  ) {}

  async run<T>(task: () => Promise<T>): Promise<T> {
    // A finished task hands its slot straight to the next waiter, so the count never overshoots.
    if (this.active >= this.concurrency) await new Promise<void>((resolve) => this.waiting.push(resolve));
    else this.active += 1;
    try {
      const now = Date.now();
      const start = Math.max(now, this.nextStart);
      this.nextStart = start + this.intervalMs;
      // A politeness pause toward the server, not a wait for a condition.
      if (start > now) await new Promise((resolve) => setTimeout(resolve, start - now));
      return await task();
    } finally {
      const next = this.waiting.shift();
      if (next) next();
      else this.active -= 1;
    }
  }
}

/** Visits URLs breadth first, each found URL once, until none are left or `max` were visited. */
export async function crawl(seeds: string[], visit: (url: string) => Promise<string[]>, options: { parallel: number; max: number }): Promise<{ visited: number; leftOver: number }> {
  const queue = [...new Set(seeds)];
  const seen = new Set(queue);
  let active = 0;
  let visited = 0;
  await new Promise<void>((resolve) => {
    const pump = (): void => {
      while (active < options.parallel && queue.length > 0 && visited < options.max) {
        const url = queue.shift()!;
        active += 1;
        visited += 1;
        visit(url)
          .then(
            (found) => {
              for (const next of found) if (!seen.has(next)) (seen.add(next), queue.push(next));
            },
            () => {},
          )
          .finally(() => {
            active -= 1;
            pump();
          });
      }
      if (active === 0) resolve();
    };
    pump();
  });
  return { visited, leftOver: queue.length };
}
