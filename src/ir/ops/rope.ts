// The rotary embedding's rotation, once for every variant: interleaved pairs
// (x[2i], x[2i+1]) of the last axis rotate by the angle whose cosine and sine are given.
// Variants differ only in how they compute the angles (spec/*.rh).

import { mul, neg, sub, sumTo } from '../vjp.ts';
import { defineOps } from '../registry.ts';
import { dimDivExact, dimToString } from '../dims.ts';
import { OpTypeError, tensorType, typeToString } from '../types.ts';
import { alloc, broadcastIndex, broadcastShapes } from '../reference.ts';
import { broadcastTypes, requireFloat, sameDtype } from './common.ts';

export const ropeOps = defineOps({
  rope: {
    name: 'rope',
    summary: '(x[2i], x[2i+1]) -> (x[2i] c - x[2i+1] s, x[2i] s + x[2i+1] c); cos, sin: [..., D/2] broadcast to x',
    category: 'composite',
    arity: [3, 3],
    pure: true,
    // dx: the rotation by -angle, rope(dy, cos, -sin). With pairs (a, b) of x and (da, db) of dy:
    // dcos = da a + db b, dsin = db a - da b, summed back to cos's and sin's shapes.
    vjp: (g, n, dy) => {
      const [x, c, s] = n.inputs;
      const dx = n.wants(0) ? g.add('rope', [dy, c, neg(g, s)]) : undefined;
      if (!n.wants(1) && !n.wants(2)) return [dx];
      const shape = g.type(x).shape;
      const half = [...shape.slice(0, -1), dimDivExact(shape[shape.length - 1], 2)!];
      const lane = (v: number, i: number) => g.add('reshape', [g.add('slice', [g.add('reshape', [v], { shape: [...half, 2] })], { axis: -1, start: i, end: i + 1 })], { shape: half });
      const [a, b, da, db] = [lane(x, 0), lane(x, 1), lane(dy, 0), lane(dy, 1)];
      return [
        dx,
        n.wants(1) ? sumTo(g, g.add('add', [mul(g, da, a), mul(g, db, b)]), g.type(c).shape) : undefined,
        n.wants(2) ? sumTo(g, sub(g, mul(g, db, a), mul(g, da, b)), g.type(s).shape) : undefined,
      ];
    },
    inferType: ([x, c, s]) => {
      sameDtype('rope', x, c, s);
      requireFloat('rope', x);
      if (x.shape.length < 1) throw new OpTypeError(`rope: x must have rank >= 1, got ${typeToString(x)}`);
      const d = x.shape[x.shape.length - 1];
      const half = dimDivExact(d, 2);
      if (half === undefined) throw new OpTypeError(`rope: the last axis of ${typeToString(x)} must be even to form pairs, got ${dimToString(d)}`);
      const pairs = tensorType(x.dtype, [...x.shape.slice(0, -1), half]);
      for (const [what, t] of [['cos', c], ['sin', s]] as const) {
        const b = broadcastTypes(`rope ${what}`, pairs, t);
        if (b.length !== pairs.shape.length || b.some((dim, i) => dimToString(dim) !== dimToString(pairs.shape[i])))
          throw new OpTypeError(`rope: ${what} ${typeToString(t)} must broadcast to ${typeToString(pairs)} (x is ${typeToString(x)})`);
      }
      return x;
    },
    evaluate: ([x, c, s], _, env) => {
      const half = x.shape[x.shape.length - 1] / 2;
      const pairShape = [...x.shape.slice(0, -1), half];
      const ic = broadcastIndex(c.shape, broadcastShapes(c.shape, pairShape)!);
      const is = broadcastIndex(s.shape, broadcastShapes(s.shape, pairShape)!);
      const out = alloc(x.dtype, x.shape, env);
      for (let p = 0; p < ic.length; p++) {
        const cv = c.data[ic[p]];
        const sv = s.data[is[p]];
        const a = x.data[2 * p];
        const b = x.data[2 * p + 1];
        out.data[2 * p] = a * cv - b * sv;
        out.data[2 * p + 1] = a * sv + b * cv;
      }
      return out;
    },
  },
});
