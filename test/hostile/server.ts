// The probe server: one long-lived child process that runs rhc's CLI in-process, one job at a
// time, so that a probe costs milliseconds instead of tsx's ~1.7 s start-up. It is still a
// process of its own, so a probe that hangs (a FIFO), overflows or exhausts memory takes down
// only the server (the parent kills and restarts it) and never the test runner. Jobs arrive over
// the IPC channel: { id, args, cwd }; replies: { id, code, stdout, stderr, ms }.

import { main } from '../../src/cli/program.ts';

interface Job {
  id: number;
  args: string[];
  cwd: string;
}

const send = (msg: unknown) => process.send!(msg);

const realOut = process.stdout.write.bind(process.stdout);
const realErr = process.stderr.write.bind(process.stderr);

let current: Job | undefined;
let out: string[] = [];
let err: string[] = [];

// A throw that escapes main's own handling (an async callback, an unhandled rejection) is a
// crash of the command; the server's state is unknown after it, so it reports and exits.
// The report also goes to the real stderr, synchronously (a pipe on Linux): process.send is
// asynchronous and exit would drop it, and a throw between jobs has no job to report to; the
// parent shows the server's stderr tail for a probe that ends the server.
const escaped = (e: unknown) => {
  const report = `[escaped${current ? '' : ' between jobs'}] ${(e as Error)?.stack ?? String(e)}`;
  process.stderr.write = realErr as typeof process.stderr.write;
  process.stderr.write(`${err.join('')}\n${report}\n`);
  if (!current) process.exit(99);
  send({ id: current.id, code: null, escaped: true, stdout: out.join(''), stderr: `${err.join('')}\n${report}`, ms: 0 });
  setTimeout(() => process.exit(99), 200); // let the IPC message go out first
};
process.on('uncaughtException', escaped);
process.on('unhandledRejection', escaped);

function capture(chunks: string[]) {
  return (chunk: string | Uint8Array, encoding?: unknown, cb?: unknown): boolean => {
    chunks.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'));
    const done = typeof encoding === 'function' ? encoding : cb;
    if (typeof done === 'function') done();
    return true;
  };
}


process.on('message', async (job: Job) => {
  current = job;
  out = [];
  err = [];
  const t0 = performance.now();
  let code: number | null;
  try {
    process.chdir(job.cwd);
    process.exitCode = undefined;
    process.stdout.write = capture(out) as typeof process.stdout.write;
    process.stderr.write = capture(err) as typeof process.stderr.write;
    code = await main(job.args);
  } catch (e) {
    // main catches everything it can; reaching here is a crash of the CLI layer itself
    err.push(`\n[main threw] ${(e as Error)?.stack ?? String(e)}`);
    code = 70;
  } finally {
    process.stdout.write = realOut as typeof process.stdout.write;
    process.stderr.write = realErr as typeof process.stderr.write;
    process.exitCode = undefined;
  }
  const ms = performance.now() - t0;
  (globalThis as { gc?: () => void }).gc?.();
  send({ id: job.id, code, stdout: out.join(''), stderr: err.join(''), ms, heapBytes: process.memoryUsage().heapUsed });
  current = undefined;
});

send({ ready: true });
