// The ways rhc can run a model's forward pass, by name, for `rhc forward --backend NAME`.
// Backends load lazily so the CLI starts fast and a missing native module only matters
// when that backend is asked for.

import type { Graph } from '../ir/graph.ts';
import type { Precision } from '../ir/reference.ts';
import { interpret, paramTensors } from './reference/interpreter.ts';
import { positions, type Decoder } from './decoder.ts';
import { IDS_INPUT, LOGITS_OUTPUT, POSITIONS_INPUT } from '../ir/calling-convention.ts';
import { RhcError } from '../errors.ts';

export interface ForwardRequest {
  graph: Graph;
  weights: ReadonlyMap<string, Float32Array>;
  /** token ids, [batch, seq] in C order */
  ids: Int32Array;
  batch: number;
  seq: number;
  /** absolute position of the first token (0 unless continuing a cached sequence) */
  positionOffset?: number;
}

export interface ForwardBackend {
  readonly name: string;
  /** logits [batch, seq, vocab] */
  forward(req: ForwardRequest): Promise<Float32Array>;
}

/** A decoder (batch 1, KV cache kept by the backend) for `rhc generate`. */
export async function getDecoder(name: string, graph: Graph, weights: ReadonlyMap<string, Float32Array>): Promise<Decoder> {
  switch (name) {
    case 'cpu': {
      const { referenceDecoder } = await import('./reference/decoder.ts');
      return referenceDecoder(graph, weights);
    }
    case 'onnx': {
      const { onnxDecoder } = await import('../../backends/onnx/decoder.ts');
      return onnxDecoder(graph, weights);
    }
    case 'webgpu': {
      const { webgpuDecoder } = await import('./webgpu/backend.ts');
      return webgpuDecoder(graph, weights);
    }
    default:
      throw new RhcError(`unknown backend '${name}' for decoding (available: ${BACKEND_NAMES.join(', ')})`);
  }
}

/** The reference interpreter as a backend (f32 by default; f64 for tight comparisons). */
export function cpuBackend(precision: Precision = 'f32'): ForwardBackend {
  return {
    name: 'cpu',
    async forward(req) {
      const params = paramTensors(req.graph, req.weights);
      const inputs = new Map([
        [IDS_INPUT, { dtype: 'i32' as const, shape: [req.batch, req.seq], data: req.ids }],
        [POSITIONS_INPUT, { dtype: 'i32' as const, shape: [req.seq], data: positions(req.seq, req.positionOffset) }],
      ]);
      const logits = interpret(req.graph, { inputs, params, precision }).get(LOGITS_OUTPUT)!;
      return logits.data instanceof Float32Array ? logits.data : Float32Array.from(logits.data);
    },
  };
}

/** rhc's fast CPU path: the graph exported to ONNX and run by onnxruntime-node. */
async function onnxBackend(): Promise<ForwardBackend> {
  const { runOnnx } = await import('../../backends/onnx/index.ts');
  return {
    name: 'onnx',
    forward: (req) => {
      // The full-sequence export computes positions 0..S-1 itself; a continuation needs --with-past.
      if (req.positionOffset) throw new RhcError('the onnx forward backend starts at position 0; continue a sequence with its decoder (generate --backend onnx)');
      return runOnnx(req.graph, req.weights, req.ids, req.batch, req.seq);
    },
  };
}

export const BACKEND_NAMES = ['cpu', 'onnx', 'webgpu'] as const;
export type BackendName = (typeof BACKEND_NAMES)[number];

export async function getBackend(name: string): Promise<ForwardBackend> {
  switch (name) {
    case 'cpu':
      return cpuBackend();
    case 'webgpu':
      return (await import('./webgpu/backend.ts')).webgpuBackend();
    case 'onnx':
      return onnxBackend();
    default:
      throw new RhcError(`unknown backend '${name}' (available: ${BACKEND_NAMES.join(', ')})`);
  }
}
