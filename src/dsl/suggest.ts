// "did you mean" for unknown names: the closest candidate within a small edit distance.

function editDistance(a: string, b: string): number {
  const prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0];
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const up = prev[j];
      prev[j] = Math.min(prev[j] + 1, prev[j - 1] + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = up;
    }
  }
  return prev[b.length];
}

export function closestName(name: string, candidates: Iterable<string>): string | undefined {
  let best: string | undefined;
  // Short names are too easy to confuse: 'y' is one edit from every other one-letter name.
  let bestDist = Math.floor(name.length / 3) + 1;
  for (const c of candidates) {
    const d = editDistance(name, c);
    if (d < bestDist && c !== name) {
      best = c;
      bestDist = d;
    }
  }
  return best;
}
