// Reading a compiled WebGPU artifact directory (what `rhc compile --target webgpu` writes)
// from wherever it lives: a Node directory (node-files.ts) or a web server (fetchFiles).
// Browser-safe: no fs, no process. Directory layout:
//   manifest.json   what is here and what it was compiled from (ArtifactManifest)
//   plan.json       the runtime plan (backends/webgpu's WebGpuPlan)
//   kernels/*.wgsl  one WGSL module per kernel, named in the manifest
//   constants.bin   binary side data of the plan, if any
//   model.ts        a typed class over WebGpuModel for this model

import { RhcError } from '../../dsl/diagnostics.ts';
import { parseSafetensors, type SafetensorsFile } from '../../io/safetensors-format.ts';
import type { WebGpuArtifact } from '../../../backends/webgpu/plan.ts';

export const ARTIFACT_FORMAT = 'rhc-webgpu-artifact';
export const ARTIFACT_FORMAT_VERSION = 1;
export const MANIFEST_FILE = 'manifest.json';
export const PLAN_FILE = 'plan.json';
export const CONSTANTS_FILE = 'constants.bin';
export const MODULE_FILE = 'model.ts';
export const KERNEL_DIR = 'kernels';

/** Kernel file names: a plain name, so a manifest can never point outside its directory. */
export const KERNEL_FILE_NAME = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}\.wgsl$/;

export interface ArtifactManifest {
  format: typeof ARTIFACT_FORMAT;
  version: number;
  /** the spec file's name without .rh (`gp-norm`) */
  spec: string;
  /** the model's name in the spec (`gp_norm`) */
  model: string;
  /** the generated class in model.ts */
  className: string;
  /** the configuration the plan and kernels were compiled for */
  config: Record<string, number | boolean>;
  /** config.json keys that select this spec (rotatinghead, use_norm, rhc_spec) */
  selects: Record<string, unknown>;
  /** every checkpoint tensor the model needs, with its shape */
  parameters: { name: string; shape: number[] }[];
  /** kernel file names under kernels/, in the plan's order of first use */
  kernels: string[];
  /** bytes of constants.bin, or null when the plan has none */
  constantsBytes: number | null;
}

/** Files of a directory, by relative path ('plan.json', 'kernels/k000_matmul.wgsl'). */
export interface ArtifactFiles {
  /** where the files come from, for messages */
  readonly location: string;
  text(path: string): Promise<string>;
  bytes(path: string): Promise<Uint8Array>;
  /** a safetensors file; sources that can read tensors lazily (Node files) provide this */
  safetensors?(path: string): Promise<SafetensorsFile>;
}

/** Files under a base URL, fetched (the browser example serves artifact and checkpoint this way). */
export function fetchFiles(base: string | URL, fetchFn: typeof fetch = fetch): ArtifactFiles {
  const root = new URL(String(base).endsWith('/') ? String(base) : `${base}/`, globalThis.location?.href);
  const get = async (path: string): Promise<Response> => {
    const url = new URL(path, root);
    let res: Response;
    try {
      res = await fetchFn(url);
    } catch (e) {
      throw new RhcError(`${url}: cannot fetch: ${(e as Error).message}`);
    }
    if (!res.ok) throw new RhcError(`${url}: HTTP ${res.status} ${res.statusText}`.trim());
    return res;
  };
  return {
    location: root.href,
    text: async (path) => (await get(path)).text(),
    bytes: async (path) => new Uint8Array(await (await get(path)).arrayBuffer()),
  };
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

async function readJson(files: ArtifactFiles, path: string): Promise<unknown> {
  const text = await files.text(path);
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new RhcError(`${files.location}${path}: not valid JSON: ${(e as Error).message}`);
  }
}

/** Checks a parsed manifest.json field by field; a hostile or stale one is an RhcError. */
export function validateManifest(raw: unknown, where: string): ArtifactManifest {
  const bad = (msg: string): never => {
    throw new RhcError(`${where}: ${msg}`);
  };
  if (!isRecord(raw) || raw.format !== ARTIFACT_FORMAT) bad(`not an rhc WebGPU artifact manifest (format must be "${ARTIFACT_FORMAT}")`);
  const m = raw as Record<string, unknown>;
  if (m.version !== ARTIFACT_FORMAT_VERSION) bad(`artifact format version ${JSON.stringify(m.version)}; this rhc reads version ${ARTIFACT_FORMAT_VERSION}: recompile the spec`);
  for (const key of ['spec', 'model', 'className'] as const) if (typeof m[key] !== 'string') bad(`'${key}' must be a string`);
  if (!isRecord(m.config) || !Object.values(m.config).every((v) => typeof v === 'number' || typeof v === 'boolean')) bad(`'config' must map names to numbers or booleans`);
  if (!isRecord(m.selects)) bad(`'selects' must be an object`);
  const params = m.parameters;
  const isShape = (s: unknown) => Array.isArray(s) && s.every((d) => Number.isSafeInteger(d) && d >= 0);
  if (!Array.isArray(params) || !params.every((p) => isRecord(p) && typeof p.name === 'string' && isShape(p.shape))) bad(`'parameters' must be a list of {name, shape}`);
  const kernels = m.kernels;
  if (!Array.isArray(kernels) || !kernels.every((k) => typeof k === 'string' && KERNEL_FILE_NAME.test(k))) bad(`'kernels' must be a list of plain .wgsl file names`);
  if (m.constantsBytes !== null && !(Number.isSafeInteger(m.constantsBytes) && (m.constantsBytes as number) >= 0)) bad(`'constantsBytes' must be a byte count or null`);
  return m as unknown as ArtifactManifest;
}

/** Reads manifest, plan, kernels and constants: everything WebGpuModel.create needs besides weights. */
export async function readArtifact(files: ArtifactFiles): Promise<{ manifest: ArtifactManifest; artifact: WebGpuArtifact }> {
  const manifest = validateManifest(await readJson(files, MANIFEST_FILE), `${files.location}${MANIFEST_FILE}`);
  const [plan, sources, constants] = await Promise.all([
    readJson(files, PLAN_FILE),
    Promise.all(manifest.kernels.map((k) => files.text(`${KERNEL_DIR}/${k}`))),
    manifest.constantsBytes === null ? undefined : files.bytes(CONSTANTS_FILE),
  ]);
  if (constants && constants.byteLength !== manifest.constantsBytes)
    throw new RhcError(`${files.location}${CONSTANTS_FILE}: ${constants.byteLength} bytes, but the manifest says ${manifest.constantsBytes}; the artifact is incomplete`);
  const kernels: Record<string, string> = {};
  manifest.kernels.forEach((k, i) => (kernels[k] = sources[i]));
  const artifact = { plan, kernels, ...(constants ? { constants } : {}) } as WebGpuArtifact;
  return { manifest, artifact };
}

/** A checkpoint's model.safetensors, lazily where the source can, else parsed from bytes. */
export async function openSafetensors(files: ArtifactFiles, path = 'model.safetensors'): Promise<SafetensorsFile> {
  if (files.safetensors) return files.safetensors(path);
  return parseSafetensors(await files.bytes(path), `${files.location}${path}`);
}
