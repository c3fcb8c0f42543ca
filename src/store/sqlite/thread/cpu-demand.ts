/**
 * @module store/sqlite/thread/cpu-demand
 *
 * How much CPU the process's main thread (the one serving HTTP) has wanted so far: the time
 * it ran plus the time it was ready to run but waited for a CPU, as Linux counts them in
 * `/proc/<pid>/task/<tid>/schedstat` (first and second field, nanoseconds). Over an interval,
 * that demand divided by the wall time says how close the acks are to needing a whole core.
 * The pipeline's pacing reads it to tell a burst that takes CPU the acks need from one the
 * machine has room for.
 *
 * The main thread's id is the process id, so the path is fixed and readable from any thread
 * of the process. Where the file is missing or unreadable (not Linux, a kernel built without
 * scheduler statistics) the reader answers `undefined` from then on.
 */
import { readFileSync } from 'node:fs';

/** A reader of a thread's CPU demand so far, in nanoseconds; `undefined` where unknown. */
export type CpuDemand = () => number | undefined;

/** Running plus waiting time (ns) from a `schedstat` line: `<on cpu> <waiting for a cpu> <slices>`. */
export function parseSchedstat(text: string): number | undefined {
  const fields = text.trim().split(/\s+/);
  if (fields.length < 2) return undefined;
  const running = Number(fields[0]);
  const waiting = Number(fields[1]);
  if (!Number.isSafeInteger(running) || !Number.isSafeInteger(waiting) || running < 0 || waiting < 0) return undefined;
  return running + waiting;
}

/** A reader for the main thread of this process (see the module comment). */
export function mainThreadCpuDemand(path = `/proc/${process.pid}/task/${process.pid}/schedstat`): CpuDemand {
  let available = true;
  return () => {
    if (!available) return undefined;
    try {
      const demand = parseSchedstat(readFileSync(path, 'utf8'));
      if (demand === undefined) available = false;
      return demand;
    } catch {
      available = false;
      return undefined;
    }
  };
}
