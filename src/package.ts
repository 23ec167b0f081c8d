// rhc's own package: its root directory (package.json, and spec/, the bundled .rh library) and
// its version. Found by walking up from this module rather than by a fixed `../..`, because the
// module runs from two depths: as src/package.ts (tests, tsx) and as dist/src/package.js (the
// built package, also when installed under node_modules/rhc/). Node only.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

function findPackage(): { root: string; version: string } {
  const start = path.dirname(fileURLToPath(import.meta.url));
  for (let dir = start; ; dir = path.dirname(dir)) {
    const file = path.join(dir, 'package.json');
    if (fs.existsSync(file)) {
      const pkg = JSON.parse(fs.readFileSync(file, 'utf8')) as { name?: unknown; version?: unknown };
      if (pkg.name === 'rhc' && typeof pkg.version === 'string') return { root: dir, version: pkg.version };
    }
    if (path.dirname(dir) === dir) throw new Error(`internal: no package.json of rhc in ${start} or above it`);
  }
}

const found = findPackage();

/** The directory holding rhc's package.json and spec/. */
export const PACKAGE_ROOT: string = found.root;

/** rhc's version, as package.json gives it. */
export const PACKAGE_VERSION: string = found.version;
