// Matrix product with broadcast batch dims: [..., M, K] @ [..., K, N] -> [..., M, N].

import { sumTo, transposeLast, type GradGraph } from '../vjp.ts';
import { defineOps } from '../registry.ts';
import { dimEq, dimToString, numElements, shapeToString, type Dim } from '../dims.ts';
import { OpTypeError, tensorType, typeToString } from '../types.ts';
import { alloc, broadcastIndex, broadcastShapes, size } from '../reference.ts';
import { broadcastTypes, requireFloat, sameDtype } from './common.ts';

/**
 * dB: a^T @ dy, or (dy^T @ a)^T when B is wider than tall (the tied lm_head's wte^T [E, vocab]):
 * the product then has the long axis as its rows, which a kernel tiles over rows and reads
 * along a short K, and the outer transpose cancels against B's own.
 */
function gradB(g: GradGraph, a: number, dy: number, bShape: readonly Dim[]): number {
  const aShape = g.type(a).shape;
  if (bShape.length === 2 && aShape.length > 2) {
    // One B shared by a batch of A (a weight): the batch folds into K, rows of A and dY, so
    // the product is the summed gradient itself, with no [batch, K, N] to reduce.
    const flat = (x: number) => { const s = g.type(x).shape; return g.add('reshape', [x], { shape: [numElements(s.slice(0, -1)), s[s.length - 1]] }); };
    a = flat(a);
    dy = flat(dy);
  }
  const [rows, cols] = bShape.slice(-2);
  const wide = typeof rows === 'number' && typeof cols === 'number' && cols > rows;
  return wide ? transposeLast(g, g.add('matmul', [transposeLast(g, dy), a])) : g.add('matmul', [transposeLast(g, a), dy]);
}

export const matmulOps = defineOps({
  matmul: {
    name: 'matmul',
    summary: '[..., M, K] @ [..., K, N] -> [..., M, N]',
    category: 'matmul',
    arity: [2, 2],
    pure: true,
    // dA = dY B^T, dB = A^T dY, each summed over the batch dims broadcasting added
    vjp: (g, n, dy) => {
      const [a, b] = n.inputs;
      return [
        n.wants(0) ? sumTo(g, g.add('matmul', [dy, transposeLast(g, b)]), g.type(a).shape) : undefined,
        n.wants(1) ? sumTo(g, gradB(g, a, dy, g.type(b).shape), g.type(b).shape) : undefined,
      ];
    },
    inferType: ([a, b]) => {
      sameDtype('matmul', a, b);
      requireFloat('matmul', a);
      if (a.shape.length < 2 || b.shape.length < 2)
        throw new OpTypeError(`matmul: both operands need rank >= 2, got ${typeToString(a)} @ ${typeToString(b)}`);
      const k1 = a.shape[a.shape.length - 1];
      const k2 = b.shape[b.shape.length - 2];
      if (!dimEq(k1, k2))
        throw new OpTypeError(
          `matmul: inner dimensions differ: ${typeToString(a)} @ ${typeToString(b)} (${dimToString(k1)} vs ${dimToString(k2)})`,
        );
      const batch = broadcastTypes(
        'matmul batch',
        tensorType(a.dtype, a.shape.slice(0, -2)),
        tensorType(b.dtype, b.shape.slice(0, -2)),
      );
      return tensorType(a.dtype, [...batch, a.shape[a.shape.length - 2], b.shape[b.shape.length - 1]]);
    },
    evaluate: ([a, b], _, env) => {
      const [M, K] = a.shape.slice(-2);
      const N = b.shape[b.shape.length - 1];
      const batch = broadcastShapes(a.shape.slice(0, -2), b.shape.slice(0, -2));
      if (!batch) throw new Error(`internal: matmul batch ${shapeToString(a.shape)} ${shapeToString(b.shape)}`);
      const out = alloc(a.dtype, [...batch, M, N], env);
      const ia = broadcastIndex(a.shape.slice(0, -2), batch);
      const ib = broadcastIndex(b.shape.slice(0, -2), batch);
      const row = new Float64Array(N);
      for (let bi = 0; bi < size(batch); bi++) {
        const ao = ia[bi] * M * K;
        const bo = ib[bi] * K * N;
        const oo = bi * M * N;
        for (let m = 0; m < M; m++) {
          row.fill(0);
          for (let k = 0; k < K; k++) {
            const av = a.data[ao + m * K + k];
            if (av === 0) continue;
            const bk = bo + k * N;
            for (let n = 0; n < N; n++) row[n] += av * b.data[bk + n];
          }
          for (let n = 0; n < N; n++) out.data[oo + m * N + n] = row[n];
        }
      }
      return out;
    },
  },
});
