/** Worker thread: reads and parses (or, lazily, scans) a share of the content files; answers with entries. */
import { parentPort, workerData } from 'node:worker_threads';
import { packEntries, parseClaimed, type FullParse, type WorkerJob } from './read.js';

const data = workerData as { lazy?: boolean; next: Int32Array; worker: number };
// A scanning worker leaves what it cannot scan to the main thread and so starts without the full parser (zod, js-yaml).
const full: Promise<FullParse | undefined> = data.lazy ? Promise.resolve(undefined) : import('./parse.js').then((m) => m.parseSource);
// Started before the files were listed: the job comes by message, once.
parentPort!.once('message', (msg: WorkerJob) => {
  void full.then((parse) => {
    const files = msg.files.split('\n').map((file) => ({ file }));
    const packed = packEntries(parseClaimed({ dir: msg.dir, files, lazy: data.lazy, next: data.next, worker: data.worker }, parse));
    parentPort!.postMessage(packed, [packed.index.buffer, packed.size.buffer, packed.mtimeMs.buffer, packed.ctimeMs.buffer] as ArrayBuffer[]);
  });
});
