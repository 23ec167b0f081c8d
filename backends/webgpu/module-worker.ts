// The worker thread of module-generator.ts: loads ts-morph as soon as it starts (most of a
// compile's TypeScript cost is loading TypeScript itself), then answers one ModuleInput with
// its ModuleFiles, or with the error's message.

import { parentPort } from 'node:worker_threads';
import { moduleFiles, preloadTsMorph, type ModuleFiles, type ModuleInput } from './typescript.ts';

/** What the worker posts back. */
export type ModuleWorkerReply = { ok: true; files: ModuleFiles } | { ok: false; message: string };

if (!parentPort) throw new Error('internal: module-worker.ts runs as a worker thread only');
const port = parentPort;
let loaded: unknown;
try {
  preloadTsMorph();
} catch (e) {
  loaded = e; // reported with the input, by the same call the in-thread path makes
}
port.once('message', (input: ModuleInput) => {
  let reply: ModuleWorkerReply;
  try {
    if (loaded !== undefined) throw loaded;
    reply = { ok: true, files: moduleFiles(input) };
  } catch (e) {
    reply = { ok: false, message: e instanceof Error ? e.message : String(e) };
  }
  port.postMessage(reply);
});
