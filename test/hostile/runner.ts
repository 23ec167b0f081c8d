// Running rhc for the hostile suite, bounded: in the probe server (server.ts, in-process and
// fast) or as a fresh `node bin/rhc.js` child (for kills and races). Every process runs with a
// small V8 heap, an 8 GiB address-space limit (so a runaway read cannot take the machine's memory),
// a watchdog on its resident memory and a wall-clock timeout; what ends it is reported.

import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

export const ROOT = path.resolve(import.meta.dirname, '../..');

export interface RunResult {
  /** exit status; null when a signal, a timeout or the watchdog ended it */
  code: number | null;
  signal?: string;
  stdout: string;
  stderr: string;
  ms: number;
  /** ended by the timeout */
  hang?: boolean;
  /** ended by the memory watchdog, or out of memory */
  memory?: boolean;
}

/** Resident memory a probe may use; GPT-2 at the suite's dims needs a small fraction of it. */
const RSS_LIMIT_BYTES = 1.5 * 2 ** 30;
/**
 * The address-space limit. A probe server (node, tsx's loader thread, rhc's modules) already
 * reserves about 3.9 GB of address space while holding 20 MB of heap, so under 4 GiB a heavy
 * but legitimate probe failed to map V8's new space; 8 GiB leaves it the room a CLI run has and
 * still bounds a runaway allocation between two polls of the resident-memory watchdog.
 */
const ADDRESS_SPACE_KIB = 8 * 2 ** 20;
/** The old-space heap, as for the CLI run by hand with a small machine in mind. */
const HEAP_MB = 512;
/** Live heap after a job above which the probe server is restarted before the next. */
const SERVER_HEAP_RESTART_BYTES = 128 * 2 ** 20;

/** Node's flags for a bounded process; the address-space limit needs WebAssembly's guard pages off. */
function nodeFlags(): { flags: string[]; ulimit: boolean } {
  const wasm = process.allowedNodeEnvironmentFlags.has('--disable-wasm-trap-handler');
  return { flags: [...(wasm ? ['--disable-wasm-trap-handler'] : []), `--max-old-space-size=${HEAP_MB}`], ulimit: wasm };
}

/** Spawns `node <args>` under the limits, with `ipc` when asked. */
export function spawnBounded(nodeArgs: string[], cwd: string, ipc = false): ChildProcess {
  const { flags, ulimit } = nodeFlags();
  const stdio: ('pipe' | 'ipc')[] = ipc ? ['pipe', 'pipe', 'pipe', 'ipc'] : ['pipe', 'pipe', 'pipe'];
  const env = { ...process.env, RHC_DEBUG: '', NODE_OPTIONS: '', FORCE_COLOR: '0' };
  if (!ulimit) return spawn(process.execPath, [...flags, ...nodeArgs], { cwd, stdio, env });
  // exec keeps the pid (the watchdog and kills target node itself) and the IPC descriptor
  return spawn('bash', ['-c', `ulimit -v ${ADDRESS_SPACE_KIB} && exec "$0" "$@"`, process.execPath, ...flags, ...nodeArgs], { cwd, stdio, env });
}

function rssBytes(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

/** Kills `child` when it outgrows RSS_LIMIT_BYTES; returns a stop function and whether it fired. */
function watchMemory(child: ChildProcess): { stop: () => void; fired: () => boolean } {
  let fired = false;
  const timer = setInterval(() => {
    if (child.pid !== undefined && rssBytes(child.pid) > RSS_LIMIT_BYTES) {
      fired = true;
      child.kill('SIGKILL');
    }
  }, 50);
  return { stop: () => clearInterval(timer), fired: () => fired };
}

const OOM = /heap out of memory|Array buffer allocation failed|Cannot allocate|ENOMEM|Allocation failed/i;

/** A running `rhc` child: its process, and its result once it ends. */
export interface RhcChild {
  child: ChildProcess;
  done: Promise<RunResult>;
}

/** `node bin/rhc.js args` in `cwd`, bounded by `timeoutMs`. */
export function startRhc(args: string[], cwd: string, timeoutMs = 30_000): RhcChild {
  const t0 = performance.now();
  const child = spawnBounded([path.join(ROOT, 'bin/rhc.js'), ...args], cwd);
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d) => (stdout += d));
  child.stderr!.on('data', (d) => (stderr += d));
  const mem = watchMemory(child);
  let hang = false;
  const timer = setTimeout(() => {
    hang = true;
    child.kill('SIGKILL');
  }, timeoutMs);
  const done = new Promise<RunResult>((resolve) => {
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      mem.stop();
      resolve({ code, signal: signal ?? undefined, stdout, stderr, ms: performance.now() - t0, hang, memory: mem.fired() || (code !== 0 && OOM.test(stderr)) });
    });
  });
  return { child, done };
}

export function runRhc(args: string[], cwd: string, timeoutMs?: number): Promise<RunResult> {
  return startRhc(args, cwd, timeoutMs).done;
}

interface Reply {
  id?: number;
  ready?: boolean;
  code: number | null;
  escaped?: boolean;
  /** the server's heap after the job and a collection */
  heapBytes?: number;
  stdout: string;
  stderr: string;
  ms: number;
}

/** One probe server process (server.ts): jobs run one at a time; a hang or crash restarts it. */
class ProbeServer {
  private child?: ChildProcess;
  private ready?: Promise<void>;
  private nextId = 0;
  private stderr = '';
  private busy = false;
  private diedIdle?: string;

  private start(): Promise<void> {
    // --expose-gc: the server collects after each job, so a probe starts with the heap a fresh
    // process would have instead of what the probes before it left for a later collection.
    const child = spawnBounded(['--expose-gc', '--import', 'tsx', path.join(ROOT, 'test/hostile/server.ts')], ROOT, true);
    this.child = child;
    this.stderr = '';
    child.stderr!.on('data', (d) => (this.stderr = (this.stderr + d).slice(-20_000)));
    child.stdout!.on('data', () => {});
    // An exit with no job in flight (a throw that escaped after its job replied) is kept and
    // reported by the next job, which restarts the server, instead of that job waiting forever.
    child.once('exit', (code, signal) => {
      if (this.child !== child) return;
      if (!this.busy) this.diedIdle = `the probe server died between jobs (${signal ?? `exit ${code}`}):\n${this.stderr}`;
      this.child = undefined;
      this.ready = undefined;
    });
    return new Promise((resolve, reject) => {
      const onMessage = (m: Reply) => {
        if (m.ready) {
          child.off('message', onMessage);
          resolve();
        }
      };
      child.on('message', onMessage);
      child.once('exit', (code) => reject(new Error(`hostile: the probe server exited (${code}) before it was ready:\n${this.stderr}`)));
    });
  }

  private stop(): void {
    this.child?.kill('SIGKILL');
    this.child = undefined;
    this.ready = undefined;
  }

  async run(args: string[], cwd: string, timeoutMs: number): Promise<RunResult> {
    if (this.diedIdle) {
      const stderr = this.diedIdle;
      this.diedIdle = undefined;
      return { code: null, signal: 'server died after the previous probe', stdout: '', stderr, ms: 0 };
    }
    this.busy = true;
    try {
      return await this.runJob(args, cwd, timeoutMs);
    } finally {
      this.busy = false;
    }
  }

  private async runJob(args: string[], cwd: string, timeoutMs: number): Promise<RunResult> {
    this.ready ??= this.start();
    await this.ready;
    const child = this.child!;
    const id = this.nextId++;
    const t0 = performance.now();
    const mem = watchMemory(child);
    return new Promise<RunResult>((resolve) => {
      let settled = false;
      const finish = (r: RunResult, restart: boolean) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        mem.stop();
        child.off('message', onMessage);
        child.off('exit', onExit);
        if (restart) this.stop();
        resolve(r);
      };
      const onMessage = (m: Reply) => {
        if (m.id !== id) return;
        const r: RunResult = { code: m.code, stdout: m.stdout, stderr: m.stderr, ms: m.ms };
        if (m.escaped) r.signal = 'escaped';
        // A server still holding much after its collection (a cache a probe filled) starts afresh.
        // A server holding much heap after its collection (a cache a probe filled) starts afresh.
        finish(r, m.escaped === true || (m.heapBytes ?? 0) > SERVER_HEAP_RESTART_BYTES);
      };
      const onExit = (code: number | null, signal: string | null) => {
        const tail = this.stderr;
        finish({ code: null, signal: signal ?? `exit ${code}`, stdout: '', stderr: tail, ms: performance.now() - t0, memory: mem.fired() || OOM.test(tail) }, true);
      };
      const timer = setTimeout(() => finish({ code: null, signal: 'SIGKILL', stdout: '', stderr: this.stderr, ms: performance.now() - t0, hang: true }, true), timeoutMs);
      child.on('message', onMessage);
      child.on('exit', onExit);
      child.send({ id, args, cwd });
    });
  }

  close(): void {
    this.stop();
  }
}

/** Probe servers shared by the probes: `run` takes the first idle one. */
export class ServerPool {
  private idle: ProbeServer[];
  private waiting: ((s: ProbeServer) => void)[] = [];
  private all: ProbeServer[];

  constructor(size: number) {
    this.all = Array.from({ length: size }, () => new ProbeServer());
    this.idle = [...this.all];
  }

  async run(args: string[], cwd: string, timeoutMs = 30_000): Promise<RunResult> {
    const server = this.idle.pop() ?? (await new Promise<ProbeServer>((r) => this.waiting.push(r)));
    try {
      return await server.run(args, cwd, timeoutMs);
    } finally {
      const next = this.waiting.shift();
      if (next) next(server);
      else this.idle.push(server);
    }
  }

  close(): void {
    for (const s of this.all) s.close();
  }
}
