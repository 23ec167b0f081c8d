// Reading a compiled WebGPU artifact directory (what `rhc compile --target webgpu` writes)
// from wherever it lives: a Node directory (node-files.ts) or a web server (fetchFiles).
// Browser-safe: no fs, no process. Directory layout:
//   manifest.json   what is here and what it was compiled from (ArtifactManifest)
//   plan.json       the runtime plan (backends/webgpu's WebGpuPlan)
//   kernels/*.wgsl  one WGSL module per kernel, named in the manifest
//   constants.bin   binary side data of the plan, if any
//   model.ts        a typed class over WebGpuModel for this model (imports 'rhc/webgpu')
//   model.mjs       the same as plain JavaScript (ESM), and model.d.mts its types (version 3 on)
//   README.md       what is here, for people
// The manifest names the size and sha-256 of every other file, checked here on load: a
// directory whose files come from different compiles is an error naming the file, never a
// plan of one config run with the kernels or checkpoint of another.

import { RhcError } from '../../errors.ts';
import { parseSafetensors, type SafetensorsFile } from '../../io/safetensors-format.ts';
import type { WebGpuArtifact } from '../../../backends/webgpu/plan.ts';

export const ARTIFACT_FORMAT = 'rhc-webgpu-artifact';
/**
 * 2: the manifest lists every file with its sha-256 (`files`) and the spec's config defaults (`defaults`).
 * 3: model.mjs and model.d.mts beside model.ts, all three importing the runtime as 'rhc/webgpu'.
 */
export const ARTIFACT_FORMAT_VERSION = 3;
export const MANIFEST_FILE = 'manifest.json';
export const PLAN_FILE = 'plan.json';
export const CONSTANTS_FILE = 'constants.bin';
export const MODULE_FILE = 'model.ts';
export const MODULE_JS_FILE = 'model.mjs';
export const MODULE_TYPES_FILE = 'model.d.mts';
export const README_FILE = 'README.md';
export const KERNEL_DIR = 'kernels';
/** The most bytes a manifest.json may have (GPT-2 medium's is about 40 KiB). */
export const MAX_MANIFEST_BYTES = 16 * 2 ** 20;

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
  config: Record<string, number | boolean | string>;
  /** config.json keys that select this spec (rotatinghead, use_norm, rhc_spec) */
  selects: Record<string, unknown>;
  /** every checkpoint tensor the model needs, with its shape */
  parameters: { name: string; shape: number[] }[];
  /** kernel file names under kernels/, in the plan's order of first use */
  kernels: string[];
  /** bytes of constants.bin, or null when the plan has none */
  constantsBytes: number | null;
  /**
   * each config key's value when a checkpoint's config.json lacks it: the spec's default (with
   * the other keys at `config`), as the CLI would resolve it
   */
  defaults: Record<string, number | boolean | string>;
  /** every file of the artifact but manifest.json, by relative path: what must be there, exactly */
  files: Record<string, ArtifactFileEntry>;
}

export interface ArtifactFileEntry {
  bytes: number;
  /** lowercase hex */
  sha256: string;
}

/** The files of an artifact besides manifest.json, by relative path, from what its manifest lists (of format `version`). */
export function artifactLayout(kernels: readonly string[], hasConstants: boolean, version: number = ARTIFACT_FORMAT_VERSION): string[] {
  const modules = version >= 3 ? [MODULE_FILE, MODULE_JS_FILE, MODULE_TYPES_FILE] : [MODULE_FILE];
  return [PLAN_FILE, ...kernels.map((k) => `${KERNEL_DIR}/${k}`), ...(hasConstants ? [CONSTANTS_FILE] : []), ...modules, README_FILE];
}

/** The sha-256 of `bytes` as lowercase hex, with Web Crypto (Node 20 and browsers alike). */
export async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes as Uint8Array<ArrayBuffer>));
  return Array.from(digest, (b) => b.toString(16).padStart(2, '0')).join('');
}

/** Files of a directory, by relative path ('plan.json', 'kernels/k000_matmul.wgsl'). */
export interface ArtifactFiles {
  /** where the files come from, for messages */
  readonly location: string;
  /** a file's contents; one larger than `maxBytes` (when given) is refused, not read whole */
  text(path: string, maxBytes?: number): Promise<string>;
  bytes(path: string, maxBytes?: number): Promise<Uint8Array>;
  /** a safetensors file; sources that can read tensors lazily (Node files) provide this */
  safetensors?(path: string): Promise<SafetensorsFile>;
}

/** A file larger than the reader allowed (ArtifactFiles' maxBytes): refused before it is read whole. */
export class FileTooLarge extends RhcError {
  constructor(
    where: string,
    readonly bytes: number,
    readonly maxBytes: number,
  ) {
    super(`${where}: ${bytes} bytes, more than the ${maxBytes} expected`);
  }
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
  const bytes = async (path: string, maxBytes?: number): Promise<Uint8Array> => {
    const res = await get(path);
    const check = (n: number) => {
      if (maxBytes !== undefined && n > maxBytes) throw new FileTooLarge(String(new URL(path, root)), n, maxBytes);
    };
    check(Number(res.headers.get('content-length'))); // NaN when absent: passes
    const data = new Uint8Array(await res.arrayBuffer());
    check(data.byteLength);
    return data;
  };
  return {
    location: root.href,
    text: async (path, maxBytes) => new TextDecoder().decode(await bytes(path, maxBytes)),
    bytes,
  };
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function parseJson(files: ArtifactFiles, path: string, text: string): unknown {
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
  // A config value is a number, a boolean or a string (a `str` config such as activation_function).
  const isConfigValue = (v: unknown) => typeof v === 'number' || typeof v === 'boolean' || typeof v === 'string';
  if (!isRecord(m.config) || !Object.values(m.config).every(isConfigValue)) bad(`'config' must map names to numbers, booleans or strings`);
  if (!isRecord(m.selects)) bad(`'selects' must be an object`);
  const params = m.parameters;
  const isShape = (s: unknown) => Array.isArray(s) && s.every((d) => Number.isSafeInteger(d) && d >= 0);
  if (!Array.isArray(params) || !params.every((p) => isRecord(p) && typeof p.name === 'string' && isShape(p.shape))) bad(`'parameters' must be a list of {name, shape}`);
  const kernels = m.kernels;
  if (!Array.isArray(kernels) || !kernels.every((k) => typeof k === 'string' && KERNEL_FILE_NAME.test(k))) bad(`'kernels' must be a list of plain .wgsl file names`);
  if (m.constantsBytes !== null && !(Number.isSafeInteger(m.constantsBytes) && (m.constantsBytes as number) >= 0)) bad(`'constantsBytes' must be a byte count or null`);
  const config = m.config as Record<string, unknown>;
  const defaults = m.defaults;
  const sameKeys = (r: Record<string, unknown>, keys: readonly string[]) => Object.keys(r).length === keys.length && keys.every((k) => Object.hasOwn(r, k));
  if (!isRecord(defaults) || !sameKeys(defaults, Object.keys(config)) || !Object.values(defaults).every(isConfigValue))
    bad(`'defaults' must give a number, boolean or string for each key of 'config'`);
  const files = m.files;
  const layout = artifactLayout(kernels as string[], m.constantsBytes !== null);
  if (!isRecord(files) || !sameKeys(files, layout)) bad(`'files' must list exactly ${layout.join(', ')}`);
  for (const [rel, e] of Object.entries(files as Record<string, unknown>))
    if (!isRecord(e) || !Number.isSafeInteger(e.bytes) || (e.bytes as number) < 0 || typeof e.sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(e.sha256))
      bad(`'files' entry '${rel}' must be {bytes, sha256} with a hex sha-256`);
  return m as unknown as ArtifactManifest;
}

/**
 * A file of the artifact, checked against the manifest: its size (before it is read whole, where
 * the source can tell) and its sha-256. A mismatch means the directory mixes compiles.
 */
async function checkedFile(files: ArtifactFiles, manifest: ArtifactManifest, rel: string): Promise<Uint8Array> {
  const want = manifest.files[rel];
  const mixed = `the directory mixes files of different compiles (or one was edited); recompile it with rhc compile --target webgpu`;
  let data: Uint8Array;
  try {
    data = await files.bytes(rel, want.bytes);
  } catch (e) {
    if (e instanceof FileTooLarge) throw new RhcError(`${files.location}${rel}: ${e.bytes} bytes, but ${MANIFEST_FILE} says ${want.bytes}: ${mixed}`);
    throw e;
  }
  if (data.byteLength !== want.bytes) throw new RhcError(`${files.location}${rel}: ${data.byteLength} bytes, but ${MANIFEST_FILE} says ${want.bytes}: ${mixed}`);
  const sha = await sha256Hex(data);
  if (sha !== want.sha256) throw new RhcError(`${files.location}${rel}: its sha-256 is ${sha.slice(0, 16)}..., but ${MANIFEST_FILE} says ${want.sha256.slice(0, 16)}...: ${mixed}`);
  return data;
}

/** Reads manifest, plan, kernels and constants: everything WebGpuModel.create needs besides weights. */
export async function readArtifact(files: ArtifactFiles): Promise<{ manifest: ArtifactManifest; artifact: WebGpuArtifact }> {
  const manifestText = await files.text(MANIFEST_FILE, MAX_MANIFEST_BYTES);
  const manifest = validateManifest(parseJson(files, MANIFEST_FILE, manifestText), `${files.location}${MANIFEST_FILE}`);
  const decode = (b: Uint8Array) => new TextDecoder().decode(b);
  const [plan, sources, constants] = await Promise.all([
    checkedFile(files, manifest, PLAN_FILE).then((b) => parseJson(files, PLAN_FILE, decode(b))),
    Promise.all(manifest.kernels.map((k) => checkedFile(files, manifest, `${KERNEL_DIR}/${k}`).then(decode))),
    manifest.constantsBytes === null ? undefined : checkedFile(files, manifest, CONSTANTS_FILE),
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
