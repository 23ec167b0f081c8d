// Where a training step's time goes: each dispatch of one step submitted and waited for on its
// own (RunRequest.profile), grouped by kernel, the costliest first. Slower than a real step (a
// submission per dispatch), so the totals are not step times; the ranking is what it is for.
//
//   npx tsx bench/profile-step.ts [--model tiny|micro|small] [--dims n_embd=32,n_layer=2] [--batch 1] [--seq 64] [--top 25] [--json out.json]

import * as fs from 'node:fs';
import { parseArgs } from 'node:util';
import { acquireDevice, initModel, trainStepGraph, WebGpuTrainer } from './rhc-api.ts';
import { MODELS, specFile } from './models.ts';

const { values } = parseArgs({
  options: { model: { type: 'string', default: 'tiny' }, batch: { type: 'string', default: '1' }, seq: { type: 'string', default: '64' }, top: { type: 'string', default: '25' }, dims: { type: 'string', default: '' }, json: { type: 'string' } },
});
const base = MODELS[values.model!];
if (!base) throw new Error(`no bench model '${values.model}' (models: ${Object.keys(MODELS).join(', ')})`);
// --dims overrides the model's dims (k=v,k=v), for the small models examples/compare-variants.sh trains
const changed = Object.fromEntries(values.dims!.split(',').filter(Boolean).map((kv) => { const [k, v] = kv.split('='); return [k, Number(v)]; }));
const def = { ...base, dims: { ...base.dims, ...changed }, about: values.dims ? `${base.about}, with ${values.dims}` : base.about };
const shape = { batch: Number(values.batch), seq: Number(values.seq) };

const ctx = await acquireDevice();
const overrides = Object.entries(def.dims).map(([name, value]) => ({ name, value, origin: 'bench', strict: true }));
const model = initModel(specFile(def), { seed: 1, overrides });
const stepGraph = trainStepGraph(model.graph);
const artifact = WebGpuTrainer.compile(stepGraph, shape);
const trainer = await WebGpuTrainer.create(ctx, stepGraph, artifact, model.weights, shape);
const ids = Int32Array.from({ length: shape.batch * shape.seq }, (_, i) => (i * 7919 + 13) % def.dims.vocab_size);
const hyper = { lossScale: 1 / (shape.batch * (shape.seq - 1)), lr: 1e-5, biasCorrection1: 0.1, biasCorrection2: 0.001 };

await trainer.microStep(ids, hyper, true); // pipelines compiled, buffers touched
const byKernel = new Map<string, { summary: string; ms: number; count: number; labels: Set<string> }>();
await trainer.microStep(ids, hyper, true, (d, ms) => {
  const k = artifact.plan.kernels[d.kernel];
  const summary = (artifact.kernels[k.file] ?? '').split('\n')[0].replace(/^\/\/\s*rhc\s*/, '');
  const row = byKernel.get(k.file) ?? { summary, ms: 0, count: 0, labels: new Set<string>() };
  row.ms += ms;
  row.count++;
  row.labels.add(d.label);
  byKernel.set(k.file, row);
});
trainer.destroy();
ctx.destroy();

const rows = [...byKernel.entries()].map(([file, r]) => ({ file, ...r, labels: [...r.labels] })).sort((a, b) => b.ms - a.ms);
const total = rows.reduce((s, r) => s + r.ms, 0);
console.log(`${def.about}; batch ${shape.batch} x ${shape.seq}; ${artifact.plan.dispatches.length} dispatches, ${total.toFixed(0)} ms dispatched one by one\n`);
console.log('| ms | % | n | kernel | computes |\n|--:|--:|--:|:--|:--|');
for (const r of rows.slice(0, Number(values.top)))
  console.log(`| ${r.ms.toFixed(1)} | ${((100 * r.ms) / total).toFixed(1)} | ${r.count} | ${r.summary.slice(0, 90)} | ${r.labels.slice(0, 2).join('; ').slice(0, 70)} |`);
if (values.json) fs.writeFileSync(values.json, JSON.stringify({ model: def.name, shape, totalMs: total, kernels: rows }, null, 2));
