// The artifact's TypeScript module, generated on a worker thread while the main thread lowers
// the spec and writes WGSL. Loading ts-morph (TypeScript inside: 13 MB of JavaScript) is the
// largest single cost of `rhc compile --target webgpu` (about 0.7 s of 2); started first, on
// another core, it is paid while the compiler runs instead of after it.
//
// Where the worker's entry file is not beside this module (rhc bundled into one file, as
// bench/device/pack.sh does), the process has an address-space limit, or the worker cannot
// start, the module is generated on the calling thread: the same function, only not overlapped.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { ModuleWorkerReply } from './module-worker.ts';
import { moduleFiles, type ModuleFiles, type ModuleInput } from './typescript.ts';

export interface ModuleGenerator {
  /** model.ts, model.mjs and model.d.mts for `input`; one call per generator */
  generate(input: ModuleInput): Promise<ModuleFiles>;
  /** stops the worker if it still runs (a compile that failed before it needed the module); harmless after generate() */
  dispose(): void;
  /** whether the module is (or was) generated on a worker thread; false: on the calling thread */
  readonly overlapped: boolean;
}

/** The worker's entry, compiled like this module: module-worker.js in dist/, module-worker.ts in the sources. */
function workerEntry(): URL | undefined {
  const here: unknown = import.meta.url;
  if (typeof here !== 'string') return undefined;
  const ext = /\.(ts|js)$/.exec(here)?.[1];
  if (!here.startsWith('file:') || ext === undefined) return undefined;
  const entry = new URL(`./module-worker.${ext}`, here);
  return fs.existsSync(fileURLToPath(entry)) ? entry : undefined;
}

/**
 * A worker running the TypeScript sources (a checkout, RHC_FROM_SOURCE=1, the tests): it
 * registers tsx's ES module hooks, as bin/rhc.js does, before importing the entry. (On Node 20,
 * `--import tsx` in a worker's execArgv does not reach the worker's own entry.)
 */
function sourceWorker(entry: URL): Worker {
  const pkgFile = createRequire(import.meta.url).resolve('tsx/package.json');
  const pkg = JSON.parse(fs.readFileSync(pkgFile, 'utf8')) as { exports: Record<string, { import: { default: string } }> };
  const api = pathToFileURL(path.join(path.dirname(pkgFile), pkg.exports['./esm/api'].import.default)).href;
  const code = `import(${JSON.stringify(api)}).then(({ register }) => { register(); return import(${JSON.stringify(entry.href)}); });`;
  return new Worker(code, { eval: true });
}

/**
 * Whether this process runs under an address-space limit (`ulimit -v`; Linux reports it in
 * /proc/self/limits). A worker is another V8 isolate reserving its own heap and code range, and
 * failing to reserve them is a fatal abort no code can catch: under such a limit the calling
 * thread generates the module instead.
 */
export function addressSpaceLimited(limits = '/proc/self/limits'): boolean {
  let text: string;
  try {
    text = fs.readFileSync(limits, 'utf8');
  } catch {
    return false; // not Linux: no such limit to read
  }
  const soft = /^Max address space\s+(\S+)/m.exec(text)?.[1];
  return soft !== undefined && soft !== 'unlimited';
}

/** Starts loading ts-morph on a worker thread now; the module is asked for later. */
export function startModuleGenerator(): ModuleGenerator {
  const entry = addressSpaceLimited() ? undefined : workerEntry();
  let worker: Worker | undefined;
  let failure: Error | undefined;
  if (entry !== undefined) {
    try {
      worker = entry.pathname.endsWith('.ts') ? sourceWorker(entry) : new Worker(entry);
      // Until generate() waits on it, the worker must not keep the process alive.
      worker.unref();
      worker.on('error', (e) => (failure = e));
    } catch {
      worker = undefined;
    }
  }
  let used = false;
  let fellBack = false;
  return {
    get overlapped() {
      return worker !== undefined && failure === undefined && !fellBack;
    },
    generate(input) {
      if (used) throw new Error('internal: a ModuleGenerator generates one module');
      used = true;
      const w = worker;
      if (w === undefined || failure !== undefined) return Promise.resolve().then(() => moduleFiles(input));
      return new Promise<ModuleFiles>((resolve, reject) => {
        w.ref();
        // The worker failed to start or load (not the module's own error): the calling thread tries.
        const fallBack = () => {
          fellBack = true;
          try {
            resolve(moduleFiles(input));
          } catch (e) {
            reject(e);
          }
        };
        w.once('error', fallBack);
        w.once('message', (reply: ModuleWorkerReply) => {
          w.off('error', fallBack);
          w.unref(); // it ends by itself, its one message answered
          if (reply.ok) resolve(reply.files);
          else reject(new Error(reply.message));
        });
        const { spec, specPath, model, className, config } = input; // the input alone, not what else the caller's object holds
        w.postMessage({ spec, specPath, model, className, config: { ...config } });
      });
    },
    dispose() {
      if (worker !== undefined) void worker.terminate();
    },
  };
}
