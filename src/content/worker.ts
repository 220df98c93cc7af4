/** Worker thread: reads and parses a share of the content files; answers with entries. */
import { parentPort, workerData } from 'node:worker_threads';
import { parseClaimed, type ParseJob } from './read.js';

parentPort!.postMessage(parseClaimed(workerData as ParseJob & { next: Int32Array }));
