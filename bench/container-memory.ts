/**
 * Container memory as `docker stats` reports it (cgroup usage without page cache): one reading,
 * and the peak per compose service while a stack starts and works. `docker stats` has no peak of
 * its own and the cgroup's max_usage counts page cache, so the peak is the largest of readings
 * taken back to back (each `docker stats --no-stream` takes about a second): a spike shorter than
 * that can slip between two readings.
 */
import { docker } from '../test/containers/support/docker';

const FACTOR: Record<string, number> = { B: 1 / 1024 / 1024, KiB: 1 / 1024, MiB: 1, GiB: 1024, kB: 1 / 1024, MB: 1, GB: 1024 };

/** "45.3MiB / 512MiB" → 45.3 (MiB). */
export function parseMemUsage(usage: string): number {
  const m = /^([\d.]+)\s*(B|[KMG]i?B)$/.exec(usage.split('/')[0].trim());
  if (!m) throw new Error(`cannot read docker stats memory "${usage}"`);
  return Number(m[1]) * FACTOR[m[2]];
}

/** One reading of a container's memory, MiB. */
export async function memoryOf(container: string): Promise<number> {
  return parseMemUsage(await docker('stats', '--no-stream', '--format', '{{.MemUsage}}', container));
}

export interface PeakWatch {
  /** Stops reading; resolves to the peak MiB per service (the largest over the service's containers). */
  stop(): Promise<Map<string, number>>;
}

/** Reads the memory of every running container of compose project `project`, back to back, until stopped. */
export function watchPeaks(project: string): PeakWatch {
  const peaks = new Map<string, number>();
  let stopped = false;
  const loop = (async () => {
    while (!stopped) {
      const lines = await docker(
        'ps',
        '--filter',
        `label=com.docker.compose.project=${project}`,
        '--format',
        '{{.ID}} {{.Label "com.docker.compose.service"}}',
      ).catch(() => '');
      const services = new Map(
        lines
          .split('\n')
          .filter(Boolean)
          .map((l) => l.split(' ') as [string, string]),
      );
      if (services.size === 0) {
        await new Promise((r) => setTimeout(r, 200));
        continue;
      }
      // a container that stops between `ps` and `stats` fails the whole reading; the next one goes on
      const stats = await docker('stats', '--no-stream', '--format', '{{.ID}} {{.MemUsage}}', ...services.keys()).catch(() => '');
      for (const line of stats.split('\n').filter(Boolean)) {
        const [id, ...usage] = line.split(' ');
        const service = services.get(id.slice(0, 12));
        if (!service) continue;
        peaks.set(service, Math.max(peaks.get(service) ?? 0, parseMemUsage(usage.join(' '))));
      }
    }
  })();
  return {
    async stop() {
      stopped = true;
      await loop;
      return peaks;
    },
  };
}
