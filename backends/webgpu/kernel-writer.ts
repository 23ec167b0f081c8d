// Builds one WGSL compute module: storage bindings (b0, b1, ...; chunked buffers get load and
// store helpers that pick the chunk), a uniform block with the symbolic dims (d0, d1, ...) and
// kernel-specific u32s, module-level functions, and `let`s memoised per function scope so a
// value used several times at one index is computed once.

import { type Dim, dimToString, sym } from '../../src/ir/dims.ts';
import { chunkElements } from './plan.ts';
import { HELPER_DEPENDENCIES, MATH_HELPERS, safeText, u32Literal, wgslType } from './wgsl.ts';
import type { LogicalBuffer } from './values.ts';

export interface BindingRef {
  buffer: LogicalBuffer;
  chunk?: number;
}

/** A kernel ready for the plan: WGSL text, what to bind, the uniform values, how many workgroups. */
export interface DispatchDraft {
  op: string;
  code: string;
  bindings: BindingRef[];
  uniforms: Dim[];
  grid: DraftGrid;
  workgroupSize: [number, number, number];
  label?: string;
}

export interface DraftGridDim {
  count: Dim;
  per?: number;
  base?: number;
  limit?: number;
}
export type DraftGrid = { linear: DraftGridDim } | { x: DraftGridDim; y?: DraftGridDim; z?: DraftGridDim };

/** Elements of a binding: the buffer's dtype, one at a time or as vec4s. */
type Lanes = 1 | 4;

interface Scope {
  lines: string[];
  memo: Map<string, string>;
}

export class KernelWriter {
  private readonly bindingList: { ref: BindingRef; access: 'read' | 'read_write'; lanes: Lanes; name: string }[] = [];
  private readonly extras: { name: string; value: Dim }[] = [];
  private readonly functions = new Map<string, string>();
  private readonly workgroupVars = new Map<string, string>();
  private readonly scopes: Scope[] = [{ lines: [], memo: new Map() }];
  private counter = 0;

  constructor(
    readonly op: string,
    /** IR symbol names, in the order of the uniform fields d0, d1, ... */
    readonly symbols: readonly string[],
  ) {}

  /** The WGSL variable of a storage binding of a whole (unchunked) buffer or of one chunk, as elements or vec4s. */
  binding(buffer: LogicalBuffer, access: 'read' | 'read_write', lanes: Lanes = 1, chunk?: number): string {
    const found = this.bindingList.find((b) => b.ref.buffer === buffer && b.ref.chunk === chunk && b.lanes === lanes);
    if (found) {
      if (access === 'read_write') found.access = 'read_write';
      return found.name;
    }
    const name = `b${this.bindingList.length}`;
    this.bindingList.push({ ref: chunk === undefined ? { buffer } : { buffer, chunk }, access, lanes, name });
    return name;
  }

  /** Index of a binding in the dispatch's binding list (to rebind another chunk per dispatch). */
  bindingIndex(name: string): number {
    return this.bindingList.findIndex((b) => b.name === name);
  }

  /** Element `addr` (a u32 expression) of a buffer, chunked or not. */
  load(buffer: LogicalBuffer, addr: string): string {
    if (!buffer.chunking) return `${this.binding(buffer, 'read')}[${addr}]`;
    return `${this.chunkHelper(buffer, 'load')}(${addr})`;
  }

  /** A statement storing `value` at element `addr`. */
  store(buffer: LogicalBuffer, addr: string, value: string): string {
    if (!buffer.chunking) return `${this.binding(buffer, 'read_write')}[${addr}] = ${value};`;
    return `${this.chunkHelper(buffer, 'store')}(${addr}, ${value});`;
  }

  private chunkHelper(buffer: LogicalBuffer, kind: 'load' | 'store'): string {
    const c = buffer.chunking!;
    const per = chunkElements(c);
    const access = kind === 'load' ? 'read' : 'read_write';
    const parts = Array.from({ length: c.chunks }, (_, i) => this.binding(buffer, access, 1, i));
    const name = `${kind === 'load' ? 'ld' : 'st'}_${parts[0]}`;
    const local = (i: number) => (i === 0 ? 'i' : `i - ${u32Literal(i * per)}`);
    const body = parts.map((p, i) => {
      const action = kind === 'load' ? `return ${p}[${local(i)}];` : `${p}[${local(i)}] = v; return;`;
      return i === parts.length - 1 ? `  ${action}` : `  if (i < ${u32Literal((i + 1) * per)}) { ${action} }`;
    });
    const elem = wgslType(buffer.dtype);
    const sig = kind === 'load' ? `fn ${name}(i: u32) -> ${elem}` : `fn ${name}(i: u32, v: ${elem})`;
    this.functions.set(name, `${sig} {\n${body.join('\n')}\n}`);
    return name;
  }

  /** A `var<workgroup>` array (of a WGSL type, wgslType's) shared by the invocations of a workgroup; returns its name. */
  workgroupArray(name: string, elem: string, length: number): string {
    if (!/^[a-z][a-zA-Z0-9]*$/.test(name) || this.workgroupVars.has(name) || !Number.isInteger(length) || length < 1) throw new Error(`internal: workgroup array ${name}[${length}]`);
    this.workgroupVars.set(name, `var<workgroup> ${name}: array<${elem}, ${length}>;`);
    return name;
  }

  /** A kernel-specific u32 uniform; returns the WGSL expression reading it. */
  uniform(name: string, value: Dim): string {
    if (!/^[a-z][a-zA-Z0-9]*$/.test(name) || this.extras.some((e) => e.name === name)) throw new Error(`internal: uniform ${name}`);
    this.extras.push({ name, value });
    return `u.${name}`;
  }

  uniformIndex(name: string): number {
    return this.symbols.length + this.extras.findIndex((e) => e.name === name);
  }

  /** A dim as a u32 expression over the uniform block. */
  dim(d: Dim): string {
    if (typeof d === 'number') return u32Literal(d);
    const field = (monomial: string) => monomial.split('*').map((s) => {
      const i = this.symbols.indexOf(s);
      if (i < 0) throw new Error(`internal: symbol ${s} of ${dimToString(d)} is not a plan symbol`);
      return `u.d${i}`;
    });
    const terms = [...d.terms].map(([m, c]) => ({ factors: m === '' ? [] : field(m), c }));
    if (terms.every((t) => t.c > 0))
      return `(${terms.map((t) => [...(t.c === 1 && t.factors.length ? [] : [u32Literal(t.c)]), ...t.factors].join(' * ')).join(' + ')})`;
    // Negative coefficients (Sk - Sq, say): evaluate in i32, the result is a size and so >= 0.
    const signed = terms.map((t) => [`${t.c}i`, ...t.factors.map((f) => `i32(${f})`)].join(' * '));
    return `u32(${signed.join(' + ')})`;
  }

  /** A shape for comments, over the uniform names (d0, d1, ...): no name from the IR reaches WGSL. */
  shape(shape: readonly Dim[]): string {
    const rename = (m: string) => (m === '' ? '' : m.split('*').map((s) => `d${this.symbols.indexOf(s)}`).sort().join('*'));
    return `[${shape.map((d) => (typeof d === 'number' ? String(d) : dimToString({ terms: new Map([...d.terms].map(([m, c]) => [rename(m), c])) }))).join(', ')}]`;
  }

  /** Adds a math helper (and what it calls) to the module. */
  helper(name: string): string {
    for (const dep of HELPER_DEPENDENCIES[name] ?? []) this.helper(dep);
    const code = MATH_HELPERS[name];
    if (!code) throw new Error(`internal: no helper ${name}`);
    this.functions.set(name, code);
    return name;
  }

  /** A new local name (`v_3`): the underscore keeps it apart from parameters such as `i0`. */
  fresh(prefix: string): string {
    return `${prefix}_${this.counter++}`;
  }

  private get scope(): Scope {
    return this.scopes[this.scopes.length - 1];
  }

  /** Appends a statement to the current function body. */
  line(text: string): void {
    this.scope.lines.push(text);
  }

  /**
   * `let name = expr;` in the current function; returns name. Lets go at the function's top
   * level, so call this (and memo) before opening a block with line('if (...) {').
   */
  let(expr: string, prefix = 'v'): string {
    const name = this.fresh(prefix);
    this.line(`let ${name} = ${expr};`);
    return name;
  }

  /** A `let` computed once per function for `key`. */
  memo(key: string, make: () => string, prefix = 'v'): string {
    const hit = this.scope.memo.get(key);
    if (hit) return hit;
    const expr = make();
    // Plain identifiers and literals need no let.
    const name = /^[A-Za-z_][A-Za-z0-9_.]*$|^[0-9][0-9a-z.+-]*$/.test(expr) ? expr : this.let(expr, prefix);
    this.scope.memo.set(key, name);
    return name;
  }

  /** Defines a module-level function; `body` runs in a fresh scope and returns the result expression. */
  func(name: string, params: string, result: string | undefined, body: () => string | void): string {
    this.scopes.push({ lines: [], memo: new Map() });
    const ret = body();
    const { lines } = this.scopes.pop()!;
    const tail = ret === undefined ? [] : [`return ${ret};`];
    const sig = result ? `fn ${name}(${params}) -> ${result}` : `fn ${name}(${params})`;
    this.functions.set(name, `${sig} {\n${[...lines, ...tail].map((l) => `  ${l}`).join('\n')}\n}`);
    return name;
  }

  /** The finished module and what a dispatch of it binds. */
  finish(opts: { summary: string; workgroupSize: [number, number, number]; main: () => void; grid: DraftGrid }): DispatchDraft {
    this.scopes.push({ lines: [], memo: new Map() });
    opts.main();
    const { lines } = this.scopes.pop()!;
    const fields = [...this.symbols.map((_, i) => `d${i}`), ...this.extras.map((e) => e.name)];
    if (fields.length === 0) fields.push('unused');
    if (fields.length * 4 > 256) throw new Error(`internal: ${fields.length} uniforms exceed the 256-byte block`);
    const [x, y, z] = opts.workgroupSize;
    const text = [
      `// rhc ${this.op} kernel: ${safeText(opts.summary, 200)}`,
      `// u.d0..: the run-time sizes in the plan's symbol order`,
      `struct Params { ${fields.map((f) => `${f}: u32`).join(', ')} }`,
      `@group(0) @binding(0) var<uniform> u: Params;`,
      ...this.bindingList.map((b, i) => {
        const access = b.access === 'read' ? 'read' : 'read_write';
        return `@group(0) @binding(${i + 1}) var<storage, ${access}> ${b.name}: array<${wgslType(b.ref.buffer.dtype, b.lanes)}>;`;
      }),
      ...this.workgroupVars.values(),
      '',
      ...[...this.functions.values()].flatMap((f) => [f, '']),
      `@compute @workgroup_size(${x}, ${y}, ${z})`,
      `fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>,`,
      `        @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lix: u32) {`,
      // Every binding is statically used, so the 'auto' layout always has all of them.
      `  _ = u.${fields[0]};`,
      ...this.bindingList.map((b) => `  _ = &${b.name};`),
      ...lines.map((l) => `  ${l}`),
      '}',
      '',
    ].join('\n');
    const uniforms: Dim[] = [...this.symbols.map((s) => sym(s)), ...this.extras.map((e) => e.value)];
    return { op: this.op, code: text, bindings: this.bindingList.map((b) => b.ref), uniforms, grid: opts.grid, workgroupSize: opts.workgroupSize };
  }
}
