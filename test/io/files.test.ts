// The file-system primitives every reader and writer of rhc goes through: bounded reads of
// regular files only, files that appear whole or not at all, directories swapped in whole, and
// one writer per output.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { RhcError } from '../../src/errors.ts';
import {
  checkOutputNotInput,
  readRegularFile,
  readTextFile,
  replaceDirAtomic,
  stageFile,
  withOutputLock,
  writeFileAtomic,
} from '../../src/io/files.ts';
import { ROOT, tempDir } from '../helpers/rh.ts';

function messageOf(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(RhcError);
    return (e as Error).message;
  }
  throw new Error('expected an RhcError');
}

/** Every name in a directory tree, relative, sorted. */
function tree(dir: string): string[] {
  return (fs.readdirSync(dir, { recursive: true }) as string[]).sort();
}

describe('readRegularFile', () => {
  it('reads a regular file and refuses one larger than the limit before reading it', () => {
    const dir = tempDir();
    const file = path.join(dir, 'a.rh');
    fs.writeFileSync(file, 'hello');
    expect(readTextFile(file, { maxBytes: 5, what: 'spec' })).toBe('hello');
    expect(messageOf(() => readRegularFile(file, { maxBytes: 4, what: 'spec' }))).toBe(`cannot read spec ${file}: it is 5 bytes, more than the 4 bytes a spec may be`);
  });

  it('refuses devices, FIFOs, directories and links to them promptly', () => {
    const dir = tempDir();
    const fifo = path.join(dir, 'pipe.rh');
    execFileSync('mkfifo', [fifo]);
    const link = path.join(dir, 'zero.rh');
    fs.symlinkSync('/dev/zero', link);
    const started = Date.now();
    expect(messageOf(() => readRegularFile('/dev/zero', { maxBytes: 1 << 20, what: 'spec' }))).toBe('cannot read spec /dev/zero: it is a device, not a regular file');
    expect(messageOf(() => readRegularFile(link, { maxBytes: 1 << 20 }))).toMatch(/zero\.rh: it is a device, not a regular file$/);
    expect(messageOf(() => readRegularFile(fifo, { maxBytes: 1 << 20 }))).toMatch(/pipe\.rh: it is a FIFO, not a regular file$/);
    expect(messageOf(() => readRegularFile(dir, { maxBytes: 1 << 20 }))).toMatch(/it is a directory, not a regular file$/);
    expect(messageOf(() => readRegularFile(path.join(dir, 'none'), { maxBytes: 1 })).endsWith('none: no such file or directory')).toBe(true);
    expect(Date.now() - started).toBeLessThan(2000);
  });
});

describe('atomic writes', () => {
  it('writeFileAtomic replaces a file whole; a writer that fails leaves the old file and no temporary', () => {
    const dir = tempDir();
    const file = path.join(dir, 'logits.npy');
    writeFileAtomic(file, 'old');
    writeFileAtomic(file, (fd) => fs.writeSync(fd, 'new contents'));
    expect(fs.readFileSync(file, 'utf8')).toBe('new contents');
    expect(() =>
      writeFileAtomic(file, (fd) => {
        fs.writeSync(fd, 'half');
        throw new Error('disk gone');
      }),
    ).toThrow('disk gone');
    expect(fs.readFileSync(file, 'utf8')).toBe('new contents');
    expect(tree(dir)).toEqual(['logits.npy']);
  });

  it('a staged file is invisible until committed, and gone when aborted', () => {
    const dir = tempDir();
    const file = path.join(dir, 'm.onnx');
    const staged = stageFile(file, 'model');
    expect(fs.existsSync(file)).toBe(false);
    staged.commit();
    expect(fs.readFileSync(file, 'utf8')).toBe('model');
    stageFile(file, 'other').abort();
    expect(fs.readFileSync(file, 'utf8')).toBe('model');
    expect(tree(dir)).toEqual(['m.onnx']);
  });

  it('names a read-only directory as such, not as a missing one', () => {
    if (process.getuid?.() === 0) {
      // root ignores permission bits (CI runs as root); sysfs refuses new files to anyone.
      expect(messageOf(() => writeFileAtomic('/sys/rhc-test', 'x'))).toBe('cannot write /sys/rhc-test: permission denied');
      return;
    }
    const dir = tempDir();
    fs.chmodSync(dir, 0o555);
    expect(messageOf(() => writeFileAtomic(path.join(dir, 'x'), 'x'))).toMatch(/permission denied/);
  });
});

describe('output locks', () => {
  it('a live holder blocks a second writer with a clear error; a dead holder is taken over', async () => {
    const dir = tempDir();
    const target = path.join(dir, 'artifact');
    const lock = path.join(dir, '.artifact.rhc-lock');
    const sleeper = spawn('sleep', ['30']);
    try {
      fs.writeFileSync(lock, `${sleeper.pid}\n`);
      expect(messageOf(() => withOutputLock(target, () => 1))).toBe(
        `${target} is being written by another rhc process (pid ${sleeper.pid}); wait for it to finish, or remove ${lock} if no rhc is running`,
      );
    } finally {
      sleeper.kill('SIGKILL');
    }
    const dead = spawnSync('true').pid!;
    fs.writeFileSync(lock, `${dead}\n`);
    expect(withOutputLock(target, () => 'ran')).toBe('ran');
    expect(fs.existsSync(lock)).toBe(false);
  });
});

describe('replaceDirAtomic', () => {
  it('swaps a new directory in whole; a failing build leaves the old one untouched', () => {
    const parent = tempDir();
    const target = path.join(parent, 'out');
    replaceDirAtomic(target, (tmp) => fs.writeFileSync(path.join(tmp, 'a'), '1'));
    replaceDirAtomic(target, (tmp) => fs.writeFileSync(path.join(tmp, 'b'), '2'));
    expect(tree(target)).toEqual(['b']);
    expect(() =>
      replaceDirAtomic(target, (tmp) => {
        fs.writeFileSync(path.join(tmp, 'c'), '3');
        throw new RhcError('bad spec');
      }),
    ).toThrow('bad spec');
    expect(tree(target)).toEqual(['b']);
    expect(tree(parent)).toEqual(['out', 'out/b']);
  });

  it('a writer killed mid-build leaves the old directory, and its leftovers are cleared by the next writer', async () => {
    const parent = tempDir();
    const target = path.join(parent, 'out');
    replaceDirAtomic(target, (tmp) => fs.writeFileSync(path.join(tmp, 'old'), 'old'));
    const script = `
      import { replaceDirAtomic } from ${JSON.stringify(path.join(ROOT, 'src/io/files.ts'))};
      import * as fs from 'node:fs';
      replaceDirAtomic(${JSON.stringify(target)}, (tmp) => {
        fs.writeFileSync(tmp + '/half', 'x');
        fs.writeSync(1, 'building\\n');
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 60000); // killed while here
      });`;
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: ROOT });
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (d) => String(d).includes('building') && resolve());
      child.on('exit', (code) => reject(new Error(`child exited ${code} before building`)));
    });
    child.kill('SIGKILL');
    await new Promise((r) => child.on('exit', r));
    expect(tree(target)).toEqual(['old']);
    expect(tree(parent).some((n) => n.includes('.rhc-'))).toBe(true); // the dead writer's lock and temp dir
    replaceDirAtomic(target, (tmp) => fs.writeFileSync(path.join(tmp, 'new'), 'new'));
    expect(tree(parent)).toEqual(['out', 'out/new']);
  });
});

describe('checkOutputNotInput', () => {
  it('refuses the same file through a link, and a directory output that holds an input', () => {
    const dir = tempDir();
    const ck = path.join(dir, 'ck');
    fs.mkdirSync(ck);
    fs.writeFileSync(path.join(ck, 'model.safetensors'), 'w');
    fs.symlinkSync(path.join(ck, 'model.safetensors'), path.join(dir, 'alias'));
    expect(messageOf(() => checkOutputNotInput(path.join(dir, 'alias'), [path.join(ck, 'model.safetensors')], '--out'))).toMatch(/^--out .*alias would overwrite .*model\.safetensors, an input of this command/);
    expect(messageOf(() => checkOutputNotInput(ck, [path.join(ck, 'spec.rh')], '--out'))).toMatch(/would overwrite .*spec\.rh/);
    expect(() => checkOutputNotInput(path.join(ck, 'logits.npy'), [path.join(ck, 'model.safetensors')], '--out')).not.toThrow();
  });
});
