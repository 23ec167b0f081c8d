// Module resolve hook for load-trace.mjs: appends each resolved URL to the trace file. It runs on
// Node's loader thread, so it writes the file itself rather than messaging the main thread.

import * as fs from 'node:fs';

let out;

export function initialize(data) {
  out = data.out;
}

export async function resolve(specifier, context, nextResolve) {
  const result = await nextResolve(specifier, context);
  fs.appendFileSync(out, result.url + '\n');
  return result;
}
