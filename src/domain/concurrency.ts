/**
 * Runs `task(0)`, `task(1)`, … `task(count - 1)` with at most `limit` in flight, started in
 * index order. Pure (no timers, no I/O), so workflow code can use it as well as activities.
 */
export async function runLimited(count: number, limit: number, task: (index: number) => Promise<void>): Promise<void> {
  let next = 0;
  const lane = async () => {
    for (let index = next++; index < count; index = next++) await task(index);
  };
  await Promise.all(Array.from({ length: Math.min(limit, count) }, lane));
}
