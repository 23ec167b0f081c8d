// Training checkpoints. A run directory holds `checkpoint-<step>/` directories, each a Hugging
// Face checkpoint (config.json + model.safetensors: `rhc forward`, `rhc compile --weights` and
// PyTorch load it) plus `optimizer.safetensors` (Adam's moments, by `optimizer.exp_avg.<name>`
// and `optimizer.exp_avg_sq.<name>`) and `trainer_state.json` (the step, the options, the
// data), and a `latest` file naming the newest. Each directory is built aside and renamed into
// place, then `latest` is replaced by rename, then older directories are removed: a kill at
// any moment leaves `latest` naming a whole checkpoint.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { RhcError } from '../errors.ts';
import { readTextFile, writeFileAtomic } from '../io/files.ts';
import { readSafetensors, writeSafetensors } from '../io/safetensors.ts';
import { loadModel, saveModel, type Model } from '../model/model.ts';
import type { ConfigOverride } from '../dsl/config.ts';
import { expAvgName, expAvgSqName } from './step-graph.ts';

export const LATEST_FILE = 'latest';
export const OPTIMIZER_FILE = 'optimizer.safetensors';
export const TRAINER_STATE_FILE = 'trainer_state.json';
export const TRAINER_STATE_FORMAT = 'rhc-trainer-state';

const checkpointDirName = (step: number) => `checkpoint-${step}`;
const CHECKPOINT_DIR = /^checkpoint-(\d+)$/;

/** What a resumed run needs besides the tensors: where it was and how it was set up. */
export interface TrainerState {
  format: typeof TRAINER_STATE_FORMAT;
  /** optimizer steps done */
  step: number;
  /** the run's options, as the first run resolved them (a resumed run keeps them) */
  options: Record<string, unknown>;
}

export interface SavedCheckpoint {
  dir: string;
  step: number;
}

/**
 * Writes checkpoint-<step> (weights `model.weights`, moments `optimizer`) and points `latest`
 * at it, then deletes the run's older checkpoint directories.
 */
export function saveTrainingCheckpoint(runDir: string, model: Model, optimizer: ReadonlyMap<string, Float32Array>, state: TrainerState): SavedCheckpoint {
  const name = checkpointDirName(state.step);
  const dir = path.join(runDir, name);
  const shapes = new Map(model.graph.nodes.filter((n) => n.op === 'param').map((n) => [n.attrs.name as string, n.type.shape as number[]]));
  saveModel(model, dir, {
    force: true,
    extra: (tmp) => {
      const tensors = [...optimizer].map(([key, data]) => {
        const param = key.replace(/^optimizer\.exp_avg(_sq)?\./, '');
        const shape = shapes.get(param);
        if (!shape) throw new Error(`internal: optimizer tensor ${key} of no parameter`);
        return { name: key, shape, data };
      });
      writeSafetensors(path.join(tmp, OPTIMIZER_FILE), tensors, { format: 'pt' }, path.join(dir, OPTIMIZER_FILE));
      writeFileAtomic(path.join(tmp, TRAINER_STATE_FILE), JSON.stringify(state, null, 2) + '\n', path.join(dir, TRAINER_STATE_FILE));
    },
  });
  writeFileAtomic(path.join(runDir, LATEST_FILE), name + '\n');
  for (const other of fs.readdirSync(runDir))
    if (CHECKPOINT_DIR.test(other) && other !== name) fs.rmSync(path.join(runDir, other), { recursive: true, force: true });
  return { dir, step: state.step };
}

export interface LoadedCheckpoint {
  dir: string;
  model: Model;
  optimizer: Map<string, Float32Array>;
  state: TrainerState;
}

/** The checkpoint `latest` names in a run directory (or `dir` itself, when it is a checkpoint). */
export function latestCheckpointDir(runDir: string): string {
  if (fs.existsSync(path.join(runDir, TRAINER_STATE_FILE))) return runDir;
  const latest = path.join(runDir, LATEST_FILE);
  if (!fs.existsSync(latest)) throw new RhcError(`${runDir} is not a training run: it has no '${LATEST_FILE}' file naming a checkpoint (nor is it a checkpoint with ${TRAINER_STATE_FILE})`);
  const name = readTextFile(latest, { maxBytes: 4096, what: 'latest-checkpoint file' }).trim();
  if (!CHECKPOINT_DIR.test(name)) throw new RhcError(`${latest}: expected a checkpoint directory name such as checkpoint-100, found '${name.slice(0, 80)}'`);
  return path.join(runDir, name);
}

export function loadTrainingCheckpoint(runDir: string, overrides: readonly ConfigOverride[] = []): LoadedCheckpoint {
  const dir = latestCheckpointDir(runDir);
  const stateFile = path.join(dir, TRAINER_STATE_FILE);
  let state: TrainerState;
  try {
    state = JSON.parse(readTextFile(stateFile, { maxBytes: 2 ** 20, what: 'trainer state' })) as TrainerState;
  } catch (e) {
    if (e instanceof RhcError) throw e;
    throw new RhcError(`${stateFile}: not valid JSON (${(e as Error).message})`);
  }
  if (state?.format !== TRAINER_STATE_FORMAT || !Number.isInteger(state.step) || state.step < 0 || typeof state.options !== 'object')
    throw new RhcError(`${stateFile}: not an rhc trainer state (expected format '${TRAINER_STATE_FORMAT}', a step and options)`);
  const model = loadModel(dir, { overrides });
  const optimizer = new Map<string, Float32Array>();
  const file = readSafetensors(path.join(dir, OPTIMIZER_FILE));
  for (const name of file.names()) optimizer.set(name, file.get(name).toFloat32());
  for (const [name, w] of model.weights)
    for (const key of [expAvgName(name), expAvgSqName(name)]) {
      const m = optimizer.get(key);
      if (!m) throw new RhcError(`${path.join(dir, OPTIMIZER_FILE)}: no tensor '${key}'`);
      if (m.length !== w.length) throw new RhcError(`${path.join(dir, OPTIMIZER_FILE)}: '${key}' has ${m.length} values, parameter '${name}' has ${w.length}`);
    }
  return { dir, model, optimizer, state };
}
