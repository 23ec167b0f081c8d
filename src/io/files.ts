// The file system as rhc uses it, in one place, so that every read is bounded and every write
// is whole or absent:
// - reads take regular files only (a FIFO would hang, /dev/zero would never end) and at most a
//   stated number of bytes, checked before anything is read;
// - a written file appears whole or not at all: it is written beside its target under a temporary
//   name and renamed over it (rename is atomic within a directory);
// - a written directory (a WebGPU artifact, a checkpoint) is built aside and swapped in, so a
//   killed compile leaves the old directory or the new one, never a mix;
// - two rhc processes never write one output at once: an exclusive lock file beside it.
// File-system failures become one-line user errors that name what was being read or written.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import { RhcError } from '../errors.ts';

const REASONS: Record<string, string> = {
  ENOENT: 'no such file or directory',
  ENOTDIR: 'a part of the path is a file, not a directory',
  EEXIST: 'a file is in the way',
  EISDIR: 'it is a directory',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EROFS: 'read-only file system',
  ENOSPC: 'no space left on the device',
  ENOTEMPTY: 'the directory is not empty',
  ELOOP: 'too many levels of symbolic links',
  ENAMETOOLONG: 'the name is too long',
};

/** The reason behind a Node file-system error, in words; undefined for errors of other kinds. */
export function fsReason(e: unknown): string | undefined {
  const code = (e as NodeJS.ErrnoException)?.code;
  if (code === undefined) return undefined;
  return REASONS[code] ?? (e as Error).message;
}

/** Runs `write`; a Node file-system error becomes `RhcError("cannot write <what>: <reason>")`. */
export function writingFiles<T>(what: string, write: () => T): T {
  try {
    return write();
  } catch (e) {
    const reason = fsReason(e);
    if (reason === undefined) throw e;
    throw new RhcError(`cannot write ${what}: ${reason}`);
  }
}

export function formatBytes(n: number): string {
  if (n >= 2 ** 30) return `${(n / 2 ** 30).toFixed(1)} GiB`;
  if (n >= 2 ** 20) return `${(n / 2 ** 20).toFixed(1)} MiB`;
  if (n >= 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${n} bytes`;
}

/** What a file that is not a regular one is, for messages: `a directory`, `a FIFO`, `a device`, ... */
export function kindOf(st: fs.Stats): string {
  if (st.isDirectory()) return 'a directory';
  if (st.isFIFO()) return 'a FIFO';
  if (st.isCharacterDevice() || st.isBlockDevice()) return 'a device';
  if (st.isSocket()) return 'a socket';
  return 'not a regular file';
}

export interface ReadOptions {
  /** the most bytes the format allows; a larger file is refused before it is read */
  maxBytes: number;
  /** what the file is, for messages ("spec", "config.json") */
  what?: string;
}

/**
 * Opens a regular file for reading; returns its descriptor and size. Symbolic links are
 * followed, but what they lead to must be a regular file too. The check happens before open
 * (which would block on a FIFO), and again on the descriptor, opened non-blocking, in case the
 * path changed in between.
 */
export function openRegularFile(file: string, what?: string): { fd: number; size: number } {
  const refuse = (why: string): never => {
    throw new RhcError(`cannot read ${what ? `${what} ` : ''}${file}: ${why}`);
  };
  try {
    const st = fs.statSync(file);
    if (!st.isFile()) refuse(`it is ${kindOf(st)}, not a regular file`);
    const fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
    const fst = fs.fstatSync(fd);
    if (!fst.isFile()) {
      fs.closeSync(fd);
      refuse(`it is ${kindOf(fst)}, not a regular file`);
    }
    return { fd, size: fst.size };
  } catch (e) {
    if (e instanceof RhcError) throw e;
    return refuse(fsReason(e) ?? String(e));
  }
}

/** Reads a regular file (see openRegularFile) of at most `maxBytes`; a larger one is refused before any read. */
export function readRegularFile(file: string, opts: ReadOptions): Buffer {
  const refuse = (why: string): never => {
    throw new RhcError(`cannot read ${opts.what ? `${opts.what} ` : ''}${file}: ${why}`);
  };
  const { fd, size } = openRegularFile(file, opts.what);
  try {
    if (size > opts.maxBytes) refuse(`it is ${formatBytes(size)}, more than the ${formatBytes(opts.maxBytes)} a ${opts.what ?? 'file of this kind'} may be`);
    // One byte more than the size: a file that grows while it is read is caught, not followed.
    const buf = Buffer.alloc(size + 1);
    let done = 0;
    for (;;) {
      const n = fs.readSync(fd, buf, done, buf.length - done, done);
      if (n === 0) break;
      done += n;
      if (done > opts.maxBytes) refuse(`it grew past the ${formatBytes(opts.maxBytes)} limit while being read`);
      if (done === buf.length) break;
    }
    return buf.subarray(0, done);
  } catch (e) {
    if (e instanceof RhcError) throw e;
    return refuse(fsReason(e) ?? String(e));
  } finally {
    fs.closeSync(fd);
  }
}

/** readRegularFile as UTF-8 text. */
export function readTextFile(file: string, opts: ReadOptions): string {
  return readRegularFile(file, opts).toString('utf8');
}

/** A name beside `target` that no other process picks: `.<name>.rhc-<tag>-<pid>-<random>`. */
function siblingName(target: string, tag: string): string {
  return path.join(path.dirname(target), `.${path.basename(target)}.rhc-${tag}-${process.pid}-${randomBytes(4).toString('hex')}`);
}

/** What a writer gives: the bytes, or a function that writes them to an open descriptor (large files). */
export type FileContents = string | Uint8Array | ((fd: number) => void);

/** A file written under a temporary name beside its target, not yet in place. */
export interface StagedFile {
  readonly file: string;
  /** Renames the staged file over its target (atomic within a directory). */
  commit(): void;
  /** Removes the staged file; the target is untouched. */
  abort(): void;
}

/**
 * Writes `contents` to a temporary file beside `file`, flushed to disk, and returns it staged:
 * several files (an ONNX model and its external data) can be written in full before any of them
 * replaces what is there.
 */
export function stageFile(file: string, contents: FileContents, what = file): StagedFile {
  const tmp = siblingName(file, 'tmp');
  writingFiles(what, () => {
    try {
      const fd = fs.openSync(tmp, 'wx', 0o644);
      try {
        if (typeof contents === 'function') contents(fd);
        else writeAll(fd, typeof contents === 'string' ? Buffer.from(contents) : contents);
        fs.fsyncSync(fd);
      } finally {
        fs.closeSync(fd);
      }
    } catch (e) {
      fs.rmSync(tmp, { force: true });
      throw e;
    }
  });
  return {
    file,
    commit: () =>
      writingFiles(what, () => {
        try {
          fs.renameSync(tmp, file);
        } catch (e) {
          fs.rmSync(tmp, { force: true });
          throw e;
        }
      }),
    abort: () => fs.rmSync(tmp, { force: true }),
  };
}

/**
 * Writes `file` whole or not at all: into a temporary file beside it, flushed to disk, then
 * renamed over it. A kill at any moment leaves the old file (or none) and at worst a hidden
 * `.<name>.rhc-tmp-*` file, never a truncated `file`.
 */
export function writeFileAtomic(file: string, contents: FileContents, what = file): void {
  stageFile(file, contents, what).commit();
}

/** Writes all of `data` to `fd` (writeSync may write less than asked). */
export function writeAll(fd: number, data: Uint8Array): void {
  let done = 0;
  while (done < data.byteLength) done += fs.writeSync(fd, data, done, data.byteLength - done);
}

function lockPath(target: string): string {
  return path.join(path.dirname(path.resolve(target)), `.${path.basename(path.resolve(target))}.rhc-lock`);
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function acquireLock(target: string): string {
  const lock = lockPath(target);
  // The lock lives beside the output, so the output's folder is made first (as any writer would).
  writingFiles(target, () => fs.mkdirSync(path.dirname(lock), { recursive: true }));
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      fs.writeFileSync(lock, `${process.pid}\n`, { flag: 'wx' });
      return lock;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw new RhcError(`cannot write ${target}: ${fsReason(e)}`);
    }
    let holder = NaN;
    try {
      holder = Number(fs.readFileSync(lock, 'utf8').trim());
    } catch {
      // vanished between our attempt and this read: try again
    }
    if (Number.isSafeInteger(holder) && holder > 0 && holder !== process.pid && processAlive(holder)) {
      throw new RhcError(`${target} is being written by another rhc process (pid ${holder}); wait for it to finish, or remove ${lock} if no rhc is running`);
    }
    // The holder died (killed mid-write): its lock is stale.
    fs.rmSync(lock, { force: true });
  }
  throw new RhcError(`cannot take the lock ${lock} for ${target}: another process keeps taking it`);
}

/**
 * Runs `fn` holding an exclusive lock on `target` (a file or directory that may not exist yet),
 * so that two rhc processes writing one output fail clearly instead of mixing their files.
 */
export function withOutputLock<T>(target: string, fn: () => T): T {
  const lock = acquireLock(target);
  removeStaleSiblings(target);
  const release = () => fs.rmSync(lock, { force: true });
  try {
    return fn();
  } finally {
    release();
  }
}

/** Removes `.<name>.rhc-*` leftovers of `target` from rhc processes that were killed. */
function removeStaleSiblings(target: string): void {
  const dir = path.dirname(path.resolve(target));
  const prefix = `.${path.basename(path.resolve(target))}.rhc-`;
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return;
  }
  for (const name of names) {
    const m = name.startsWith(prefix) ? /^(?:tmp|new|old)-(\d+)-/.exec(name.slice(prefix.length)) : null;
    if (m && !processAlive(Number(m[1]))) fs.rmSync(path.join(dir, name), { recursive: true, force: true });
  }
}

/** Renames the built `tmp` over `target` (the old one moved to `old` first, and removed after). */
function swapInDir(target: string, tmp: string, old: string, what: string): void {
  writingFiles(what, () => {
    const exists = fs.existsSync(target);
    if (exists) fs.renameSync(target, old);
    try {
      fs.renameSync(tmp, target);
    } catch (e) {
      if (exists) fs.renameSync(old, target);
      throw e;
    }
  });
  fs.rmSync(old, { recursive: true, force: true });
}

/**
 * Replaces the directory `target` with one that `build(tmpDir)` fills, under the output lock:
 * the new directory is built beside the target and renamed into place, the old one removed
 * after. A kill while building leaves the old directory untouched.
 */
export function replaceDirAtomic<T>(target: string, build: (tmpDir: string) => T, what = target): T {
  return withOutputLock(target, () => {
    const tmp = siblingName(target, 'new');
    const old = siblingName(target, 'old');
    try {
      writingFiles(what, () => fs.mkdirSync(tmp));
      const result = build(tmp);
      swapInDir(target, tmp, old, what);
      return result;
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  });
}

/** True when both paths name one existing file (hard links and symbolic links included). */
export function sameFile(a: string, b: string): boolean {
  try {
    const sa = fs.statSync(a);
    const sb = fs.statSync(b);
    return sa.dev === sb.dev && sa.ino === sb.ino;
  } catch {
    return false;
  }
}

/**
 * Refuses an output that would replace one of the command's inputs: the same file (through any
 * link), or a directory output that holds an input (replacing the directory would delete it).
 */
export function checkOutputNotInput(output: string, inputs: readonly string[], flag: string): void {
  const out = path.resolve(output);
  for (const input of inputs) {
    const inp = path.resolve(input);
    if (out === inp || inp.startsWith(out + path.sep) || sameFile(out, inp)) {
      throw new RhcError(`${flag} ${output} would overwrite ${input}, an input of this command; choose another path`);
    }
  }
}
