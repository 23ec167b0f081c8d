// The demo's picture of the loaded model's rotation frequencies: one heat map per layer, a row
// per head and a column per frequency index i, coloured by log |f| on one scale for all layers
// (as `rhc plot --frequencies` draws them). Hand-drawn SVG: a few hundred rectangles need no
// charting library, and each head's row carries its exact values (data-frequencies) and each
// cell a tooltip, so a person can hover and a test can read what is drawn. DOM only.

export interface FrequencyCell {
  layer: number;
  head: number;
  index: number;
  frequency: number;
}

const SVG = 'http://www.w3.org/2000/svg';
/** viridis at 0, 1/4, 1/2, 3/4, 1 */
const RAMP = [[68, 1, 84], [59, 82, 139], [33, 145, 140], [94, 201, 98], [253, 231, 37]];
const MAX_WIDTH = 760;

function colour(t: number): string {
  const x = Math.min(1, Math.max(0, t)) * (RAMP.length - 1);
  const i = Math.min(RAMP.length - 2, Math.floor(x));
  const [a, b] = [RAMP[i], RAMP[i + 1]];
  return `rgb(${a.map((v, c) => Math.round(v + (b[c] - v) * (x - i))).join(',')})`;
}

function el<K extends keyof SVGElementTagNameMap>(name: K, attrs: Record<string, string | number>, text?: string): SVGElementTagNameMap[K] {
  const node = document.createElementNS(SVG, name);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
  if (text !== undefined) node.textContent = text;
  return node;
}

/** The picture of `values` (layers × heads × pairs, every cell present). */
export function frequencyPicture(values: readonly FrequencyCell[], layers: number, heads: number, pairs: number): SVGSVGElement {
  const grid = new Map(values.map((v) => [`${v.layer},${v.head},${v.index}`, v.frequency]));
  const logs = values.map((v) => Math.abs(v.frequency)).filter((a) => a > 0).map(Math.log10);
  const lo = logs.length ? Math.min(...logs) : 0;
  const hi = logs.length ? Math.max(...logs) : 0;
  const shade = (f: number) => colour(f === 0 ? 0 : hi > lo ? (Math.log10(Math.abs(f)) - lo) / (hi - lo) : 0.5);
  const signed = values.some((v) => v.frequency <= 0);

  const cw = Math.max(3, Math.min(18, Math.floor(200 / pairs)));
  const ch = Math.max(4, Math.min(16, Math.floor(128 / heads)));
  const left = 30;
  const top = 18;
  const panelW = left + pairs * cw + 14;
  const panelH = top + heads * ch + 18;
  const columns = Math.max(1, Math.min(layers, Math.floor(MAX_WIDTH / panelW)));
  const rows = Math.ceil(layers / columns);
  const legendH = 34;
  const width = columns * panelW;
  const height = rows * panelH + legendH;
  const svg = el('svg', { width, height, viewBox: `0 0 ${width} ${height}`, role: 'img', 'font-size': 10, 'font-family': 'system-ui, sans-serif' });
  svg.appendChild(el('title', {}, `rotation frequencies: ${layers} layers × ${heads} heads × ${pairs} pairs`));

  for (let layer = 0; layer < layers; layer++) {
    const x0 = (layer % columns) * panelW;
    const y0 = Math.floor(layer / columns) * panelH;
    const panel = svg.appendChild(el('g', { class: 'layer', 'data-layer': layer, transform: `translate(${x0},${y0})` }));
    panel.appendChild(el('text', { x: left, y: 12, 'font-weight': 600 }, `layer ${layer}`));
    const labelEvery = ch >= 10 ? 1 : Math.ceil(10 / ch);
    for (let head = 0; head < heads; head++) {
      const freqs = Array.from({ length: pairs }, (_, i) => grid.get(`${layer},${head},${i}`) ?? NaN);
      const row = panel.appendChild(el('g', { class: 'head', 'data-layer': layer, 'data-head': head, 'data-frequencies': freqs.join(',') }));
      const y = top + head * ch;
      if (head % labelEvery === 0) panel.appendChild(el('text', { x: left - 4, y: y + ch / 2 + 3, 'text-anchor': 'end' }, `h${head}`));
      freqs.forEach((f, i) => {
        const cell = row.appendChild(el('rect', { x: left + i * cw, y, width: cw, height: ch, fill: shade(f) }));
        cell.appendChild(el('title', {}, `layer ${layer}, head ${head}, i = ${i}: f = ${f.toPrecision(6)}`));
      });
    }
    const axisY = top + heads * ch + 12;
    panel.appendChild(el('text', { x: left, y: axisY }, 'i = 0'));
    panel.appendChild(el('text', { x: left + pairs * cw, y: axisY, 'text-anchor': 'end' }, String(pairs - 1)));
  }

  // The colour scale: log |f| from the smallest to the largest value drawn.
  const ly = rows * panelH + 6;
  const legend = svg.appendChild(el('g', { class: 'legend', transform: `translate(${left},${ly})` }));
  const gradient = svg.appendChild(el('defs', {})).appendChild(el('linearGradient', { id: 'frequency-ramp' }));
  RAMP.forEach((_, i) => gradient.appendChild(el('stop', { offset: i / (RAMP.length - 1), 'stop-color': colour(i / (RAMP.length - 1)) })));
  legend.appendChild(el('rect', { x: 0, y: 0, width: 160, height: 10, fill: 'url(#frequency-ramp)' }));
  const fmt = (l: number) => (10 ** l).toPrecision(3);
  legend.appendChild(el('text', { x: 0, y: 22 }, fmt(lo)));
  legend.appendChild(el('text', { x: 160, y: 22, 'text-anchor': 'end' }, fmt(hi)));
  legend.appendChild(el('text', { x: 170, y: 9 }, `${signed ? '|frequency|' : 'frequency'} (radians per position, log scale)`));
  return svg;
}
