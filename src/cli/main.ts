// `rhc`: the command line, thin over the library. The program is in program.ts (importable
// without running it); this entry point runs it on process.argv.

import { main } from './program.ts';

process.exitCode = await main(process.argv.slice(2));
