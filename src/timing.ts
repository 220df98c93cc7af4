/** Phase timings for benchmarks: with GAZETTE_REPORT_RSS set, `phase()` marks are printed to stderr at exit. */
const on = Boolean(process.env.GAZETTE_REPORT_RSS);
const marks: [string, number][] = [];

/** Marks the end of a phase named `name` (the first mark of a name counts). */
export function phase(name: string): void {
  if (on && !marks.some(([n]) => n === name)) marks.push([name, performance.now()]);
}

/** "phases: start 212 ms, load 840 ms, …": each phase's time since the mark before (the first: since the process started). */
export function phaseReport(): string {
  const parts: string[] = [];
  let prev = 0;
  for (const [name, t] of marks) {
    parts.push(`${name} ${Math.round(t - prev)} ms`);
    prev = t;
  }
  return `phases: ${parts.join(', ')}`;
}
