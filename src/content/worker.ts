/** Worker thread: reads and parses (or, lazily, scans) a share of the content files; answers with entries. */
import { parentPort, workerData } from 'node:worker_threads';
import { parseClaimed, type FullParse, type ParseJob } from './read.js';

const job = workerData as ParseJob & { next: Int32Array };
// A scanning worker leaves what it cannot scan to the main thread and so starts without the full parser (zod, js-yaml).
const run = (full?: FullParse) => parentPort!.postMessage(parseClaimed(job, full));
if (job.lazy) run();
else void import('./parse.js').then((m) => run(m.parseSource));
