/** Worker thread: reads and parses a share of the content files; answers with entries. */
import { parentPort, workerData } from 'node:worker_threads';
import { parseFiles, type ParseJob } from './read.js';

const job = workerData as ParseJob;
parentPort!.postMessage(parseFiles(job));
