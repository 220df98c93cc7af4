/** Worker thread: reads and parses (or, lazily, scans) a share of the content files; answers with entries. */
import { parentPort, workerData } from 'node:worker_threads';
import { packEntries, parseClaimed, type FullParse, type ParseJob } from './read.js';

const job = workerData as ParseJob & { next: Int32Array };
// A scanning worker leaves what it cannot scan to the main thread and so starts without the full parser (zod, js-yaml).
const run = (full?: FullParse) => {
  const packed = packEntries(parseClaimed(job, full));
  parentPort!.postMessage(packed, [packed.index.buffer, packed.size.buffer, packed.mtimeMs.buffer] as ArrayBuffer[]);
};
if (job.lazy) run();
else void import('./parse.js').then((m) => run(m.parseSource));
