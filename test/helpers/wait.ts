/** Polling for tests: conditions that become true over real time, without asserting on time itself. */

/**
 * Polls `check` until it returns something truthy and returns it. A check that throws counts as
 * not yet (a container still starting, say); after `timeoutMs` it fails naming `what` and the last error.
 */
export async function waitFor<T>(check: () => T | Promise<T>, what: string, timeoutMs = 30_000, everyMs = 100): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  let lastError: Error | undefined;
  for (;;) {
    try {
      const value = await check();
      if (value) return value;
    } catch (err) {
      lastError = err as Error;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${lastError ? ` (last error: ${lastError.message})` : ''}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
