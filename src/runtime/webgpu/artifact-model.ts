// Loading a compiled artifact and a checkpoint into a WebGpuModel, checking on the way that
// they belong together: the checkpoint's config.json must describe the spec and the dims the
// artifact was compiled for, and every tensor must have the shape the plan expects. Without
// these checks a mismatched checkpoint would upload fine and produce garbage. Browser-safe.
//
// The config rule is the CLI's: config.json is checked by parseHfConfig (what readHfConfig
// applies), and each config key resolves as the CLI's lowering resolves it (the checkpoint's
// number or boolean if it has one, else the spec's default), which must equal what the artifact
// was compiled with. So the loader accepts exactly the checkpoints the CLI would run with the
// artifact's numbers.

import { RhcError } from '../../errors.ts';
import { selectorMismatch } from '../../model/selects.ts';
import { parseHfConfig } from '../../io/hf-config.ts';
import type { SafetensorsFile } from '../../io/safetensors-format.ts';
import type { GpuContext } from './device.ts';
import { WebGpuModel, type WeightSource } from './model.ts';
import { openSafetensors, readArtifact, type ArtifactFiles, type ArtifactManifest } from './artifact-files.ts';

/** Where weights come from: a checkpoint directory (config.json + model.safetensors) or tensors by name. */
export type CheckpointSource = ArtifactFiles | WeightSource;

function isFiles(c: CheckpointSource): c is ArtifactFiles {
  return typeof c === 'object' && 'text' in c && 'bytes' in c;
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/** A config.json is a few hundred bytes; anything past this is not one. */
const MAX_CONFIG_BYTES = 2 ** 20;

/** Rejects a config.json the CLI would refuse, or one made for another spec or other dims than the artifact's. */
export function checkCheckpointConfig(manifest: ArtifactManifest, parsed: unknown, where: string): void {
  const { raw } = parseHfConfig(parsed, where);
  const problems: string[] = [];
  const sets: string[] = [];
  const m = selectorMismatch(raw, manifest.selects);
  if (m) problems.push(`${m.key} is ${m.have}, the artifact (${manifest.spec}) needs ${m.want}`);
  for (const [key, value] of Object.entries(manifest.config)) {
    // The CLI takes a config.json value only if it is a number, boolean or string (overridesFromConfig).
    const v = Object.hasOwn(raw, key) ? raw[key] : undefined;
    const given = typeof v === 'number' || typeof v === 'boolean' || typeof v === 'string';
    const resolved = given ? v : manifest.defaults[key];
    if (resolved === value) continue;
    problems.push(`${key} is ${JSON.stringify(resolved)}${given ? '' : ` (absent, so the spec's default)`}, the artifact was compiled with ${value}`);
    sets.push(`--set ${key}=${resolved}`);
  }
  if (problems.length > 0) {
    const hint = sets.length > 0 ? `; recompile with ${sets.join(' ')} (or rhc compile --weights <checkpoint>)` : '';
    throw new RhcError(`${where}: this checkpoint does not fit the artifact: ${problems.join('; ')}${hint}`);
  }
}

/**
 * A getter that hands WebGpuModel each tensor of a safetensors file after checking its stored
 * shape against the manifest (WebGpuModel checks every tensor's length, whatever its source).
 */
function fileWeights(manifest: ArtifactManifest, file: SafetensorsFile): (name: string) => Promise<Float32Array> {
  const shapes = new Map(manifest.parameters.map((p) => [p.name, p.shape]));
  return async (name) => {
    const shape = shapes.get(name);
    if (!shape) throw new RhcError(`internal: the plan asks for tensor '${name}', which the manifest does not list`);
    if (!file.has(name)) throw new RhcError(`${file.path}: no tensor named '${name}' (the ${manifest.spec} model needs it)`);
    const t = file.get(name);
    if (!sameShape(t.shape, shape)) throw new RhcError(`${file.path}: tensor '${name}' has shape [${t.shape.join(', ')}], the artifact expects [${shape.join(', ')}]`);
    return t.toFloat32();
  };
}

export interface LoadedArtifactModel {
  model: WebGpuModel;
  manifest: ArtifactManifest;
}

/**
 * Loads the artifact in `artifact` with weights from `checkpoint`. `expect` (from a generated
 * class) rejects an artifact directory compiled for another spec or config than the class.
 */
export async function loadArtifactModel(
  ctx: GpuContext,
  artifact: ArtifactFiles,
  checkpoint: CheckpointSource,
  expect?: { spec: string; config: Readonly<Record<string, number | boolean | string>> },
): Promise<LoadedArtifactModel> {
  const { manifest, artifact: compiled } = await readArtifact(artifact);
  if (expect) {
    const differs = Object.keys({ ...expect.config, ...manifest.config }).filter((k) => expect.config[k] !== manifest.config[k]);
    if (expect.spec !== manifest.spec || differs.length > 0)
      throw new RhcError(`${artifact.location}: the artifact is ${manifest.spec} (${differs.map((k) => `${k}=${manifest.config[k]}`).join(', ') || 'same config'}), but this class was generated for ${expect.spec}${differs.length ? ` with ${differs.map((k) => `${k}=${expect.config[k]}`).join(', ')}` : ''}; use the model.ts generated with it`);
  }
  let weights: WeightSource;
  if (isFiles(checkpoint)) {
    let raw: unknown;
    try {
      raw = JSON.parse(await checkpoint.text('config.json', MAX_CONFIG_BYTES));
    } catch (e) {
      throw e instanceof RhcError ? e : new RhcError(`${checkpoint.location}config.json: not valid JSON: ${(e as Error).message}`);
    }
    checkCheckpointConfig(manifest, raw, `${checkpoint.location}config.json`);
    weights = fileWeights(manifest, await openSafetensors(checkpoint));
  } else {
    weights = checkpoint;
  }
  return { model: await WebGpuModel.create(ctx, compiled, weights), manifest };
}

/** Token ids as [batch, seq] rows -> the Int32Array WebGpuModel.forward takes, checked. */
export function idBatch(rows: readonly number[] | readonly (readonly number[])[], vocab: number, maxSeq: number): { ids: Int32Array; batch: number; seq: number } {
  const batchRows = (rows.length > 0 && Array.isArray(rows[0]) ? rows : [rows]) as readonly (readonly number[])[];
  const seq = batchRows[0]?.length ?? 0;
  if (seq === 0) throw new RhcError('forward needs at least one token');
  if (seq > maxSeq) throw new RhcError(`${seq} tokens exceed the model's ${maxSeq} positions`);
  const ids = new Int32Array(batchRows.length * seq);
  batchRows.forEach((row, b) => {
    if (row.length !== seq) throw new RhcError(`row ${b} has ${row.length} tokens, row 0 has ${seq}: every row of a batch must have the same length`);
    row.forEach((id, s) => {
      if (!Number.isInteger(id) || id < 0 || id >= vocab) throw new RhcError(`token id ${id} (row ${b}, position ${s}) is not in [0, ${vocab})`);
      ids[b * seq + s] = id;
    });
  });
  return { ids, batch: batchRows.length, seq };
}
