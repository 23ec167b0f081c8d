// Movement ops on strided views: transpose permutes strides, slice moves the offset, broadcast
// puts stride 0 on expanded axes, and reshape regroups axes when the strides allow it (as
// NumPy's no-copy reshape), with symbolic dims. When a reshape cannot be a view, the caller
// falls back to index arithmetic (values.ts).

import { type Dim, dimAdd, dimEq, dimEval, dimMul, dimSymbols } from '../../src/ir/dims.ts';
import type { View } from './values.ts';

export function transposeView(v: View, perm: readonly number[]): View {
  return { ...v, strides: perm.map((p) => v.strides[p]) };
}

export function sliceView(v: View, axis: number, start: Dim): View {
  return { ...v, offset: dimAdd(v.offset, dimMul(start, v.strides[axis])) };
}

export function broadcastView(v: View, from: readonly Dim[], to: readonly Dim[]): View {
  const off = to.length - from.length;
  const strides = to.map((d, i) => {
    if (i < off) return 0;
    return from[i - off] === 1 && d !== 1 ? 0 : v.strides[i - off];
  });
  return { ...v, strides };
}

// Products compared numerically with the symbols set to distinct primes: only to decide which
// side of a reshape to grow next; equality is always decided exactly by dimEq.
const PROBE = [1009, 1013, 1019, 1021, 1031, 1033, 1039, 1049];
function probe(d: Dim): number {
  const names = dimSymbols(d).sort();
  return dimEval(d, new Map(names.map((n, i) => [n, PROBE[i % PROBE.length] + i])));
}

/** A view of the same elements with a new shape, or undefined when the strides do not allow one. */
export function reshapeView(v: View, from: readonly Dim[], to: readonly Dim[]): View | undefined {
  const old = from.map((d, i) => ({ d, s: v.strides[i] })).filter((a) => a.d !== 1);
  const target = to.map((d, i) => ({ d, i })).filter((a) => a.d !== 1);
  const strides: Dim[] = to.map(() => 0);
  let i = 0;
  let j = 0;
  while (i < old.length || j < target.length) {
    if (i >= old.length || j >= target.length) return undefined;
    const group = [old[i++]];
    const outs = [target[j++]];
    let po = group[0].d;
    let pn = outs[0].d;
    while (!dimEq(po, pn)) {
      const growOld = probe(po) < probe(pn);
      if (growOld ? i >= old.length : j >= target.length) return undefined;
      if (growOld) po = dimMul(po, (group[group.length] = old[i++]).d);
      else pn = dimMul(pn, (outs[outs.length] = target[j++]).d);
      if (probe(po) === probe(pn) && !dimEq(po, pn)) return undefined;
    }
    // The old axes of a group must be one strided run: stride[a] = d[a+1] * stride[a+1].
    for (let a = 0; a + 1 < group.length; a++)
      if (!dimEq(group[a].s, dimMul(group[a + 1].d, group[a + 1].s))) return undefined;
    let stride = group[group.length - 1].s;
    for (let b = outs.length - 1; b >= 0; b--) {
      strides[outs[b].i] = stride;
      stride = dimMul(stride, outs[b].d);
    }
  }
  return { ...v, strides };
}
