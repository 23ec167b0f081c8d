// The demo's table of likely next tokens: the model's own distribution (softmax of the logits
// at temperature 1, whatever the sampling settings), the k most likely tokens of it, and the
// rows that show them. DOM only; no rhc imports, so main.ts keeps the page's imports in one place.

export interface TokenProbability {
  id: number;
  probability: number;
}

/** The k most likely tokens under softmax(logits), most likely first (ties: the lower id); sums in f64. */
export function topProbabilities(logits: Float32Array, k: number): TokenProbability[] {
  let max = -Infinity;
  for (const v of logits) if (v > max) max = v;
  let total = 0;
  for (const v of logits) total += Math.exp(v - max);
  // One pass keeping the k best ids in order: k is ~10, the vocabulary 50257.
  const best: number[] = [];
  for (let id = 0; id < logits.length; id++) {
    if (best.length === k && logits[id] <= logits[best[k - 1]]) continue;
    let at = best.length;
    while (at > 0 && logits[best[at - 1]] < logits[id]) at--;
    best.splice(at, 0, id);
    if (best.length > k) best.pop();
  }
  return best.map((id) => ({ id, probability: Math.exp(logits[id] - max) / total }));
}

/** Table rows for `top`, the chosen token marked; `label` gives a token's text (or its id). */
export function probabilityRows(top: readonly TokenProbability[], label: (id: number) => string, chosen?: number): HTMLTableRowElement[] {
  const scale = top[0]?.probability || 1;
  return top.map(({ id, probability }) => {
    const row = document.createElement('tr');
    row.dataset.id = String(id);
    row.dataset.probability = String(probability);
    if (id === chosen) row.className = 'chosen';
    row.insertCell().textContent = label(id);
    row.insertCell().textContent = String(id);
    row.insertCell().textContent = probability.toFixed(4);
    const bar = row.insertCell().appendChild(document.createElement('span'));
    bar.className = 'bar';
    bar.style.width = `${Math.max(1, Math.round((probability / scale) * 100))}%`;
    return row;
  });
}
