// Writing checkpoint directories: whole or not at all (built aside and swapped in, under the
// output lock), and never over a directory that holds more than an rhc checkpoint without
// --force, since replacing a directory deletes everything in it.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { RhcError } from '../errors.ts';
import { MAX_CONFIG_BYTES } from './checkpoint.ts';
import { readTextFile, replaceDirAtomic, writeFileAtomic } from './files.ts';
import { writeSafetensors, type TensorToWrite } from './safetensors.ts';

/**
 * Writes config.json and model.safetensors (F32, with the `format: pt` metadata transformers
 * requires) into `dir`, which must exist: the directory a caller is building aside (see
 * saveCheckpoint); messages name the files as in `shownAs`, the directory being replaced.
 * JSON keeps every own key, `__proto__` included.
 */
export function writeCheckpointFiles(dir: string, config: Record<string, unknown>, tensors: readonly TensorToWrite[], shownAs = dir): void {
  writeFileAtomic(path.join(dir, 'config.json'), JSON.stringify(config, null, 2) + '\n', path.join(shownAs, 'config.json'));
  writeSafetensors(path.join(dir, 'model.safetensors'), tensors, { format: 'pt' }, path.join(shownAs, 'model.safetensors'));
}

/** Writes a checkpoint directory whole or not at all: built aside and swapped in, under the output lock. */
export function saveCheckpoint(dir: string, config: Record<string, unknown>, tensors: readonly TensorToWrite[]): void {
  replaceDirAtomic(dir, (tmp) => writeCheckpointFiles(tmp, config, tensors, dir), `checkpoint '${dir}'`);
}

/**
 * Files a checkpoint rhc wrote may hold: its config, weights, the .rh specs that travel with it,
 * and the temporary files of an rhc writer killed inside it (`.<name>.rhc-tmp-*`, and the
 * `.model.safetensors.<pid>.tmp` of the earlier writer, which wrote in place).
 */
function isCheckpointFile(rel: string): boolean {
  const name = path.basename(rel);
  return (
    ['config.json', 'model.safetensors', 'model.safetensors.index.json', 'optimizer.safetensors', 'trainer_state.json'].includes(rel) ||
    /^model-\d+-of-\d+\.safetensors$/.test(rel) ||
    rel.endsWith('.rh') ||
    /^\.[^/]+\.rhc-tmp-\d+-[0-9a-f]+$/.test(name) ||
    /^\.(config\.json|model\.safetensors)\.\d+\.tmp$/.test(name)
  );
}

/** The entries of `dir` (recursively, relative) that are not checkpoint files; at most `limit`. */
function foreignEntries(dir: string, limit = 5): string[] {
  const out: string[] = [];
  const walk = (rel: string) => {
    for (const d of fs.readdirSync(path.join(dir, rel), { withFileTypes: true })) {
      if (out.length >= limit) return;
      const r = rel ? `${rel}/${d.name}` : d.name;
      if (d.isDirectory()) walk(r);
      else if (!d.isFile() || !isCheckpointFile(r)) out.push(r);
    }
  };
  walk('');
  return out;
}

/**
 * Refuses to replace `dir` unless it is absent, empty, or a checkpoint rhc wrote: config.json
 * with `model_type: "rotating-head-gpt2"` and nothing but checkpoint files (config, weights,
 * .rh specs). Replacing a directory deletes all it holds, so anything else needs --force.
 */
export function checkReplaceableCheckpoint(dir: string, flag = '--out'): void {
  let st: fs.Stats;
  try {
    st = fs.lstatSync(dir);
  } catch {
    return; // absent
  }
  const refuse = (why: string): never => {
    throw new RhcError(`${flag} ${dir} ${why}; writing the checkpoint would delete it: choose a new or empty directory, or pass --force to replace it`);
  };
  if (!st.isDirectory()) refuse(`is ${st.isSymbolicLink() ? 'a symbolic link' : 'a file'}, not a directory`);
  if (fs.readdirSync(dir).length === 0) return;
  let modelType: unknown;
  try {
    modelType = (JSON.parse(readTextFile(path.join(dir, 'config.json'), { maxBytes: MAX_CONFIG_BYTES, what: 'config.json' })) as Record<string, unknown>)?.model_type;
  } catch {
    modelType = undefined;
  }
  if (modelType !== 'rotating-head-gpt2') refuse('is not empty and is not a checkpoint rhc wrote (no config.json with model_type "rotating-head-gpt2")');
  const foreign = foreignEntries(dir);
  if (foreign.length > 0) refuse(`holds files that are not part of a checkpoint (${foreign.join(', ')}${foreign.length >= 5 ? ', ...' : ''})`);
}
