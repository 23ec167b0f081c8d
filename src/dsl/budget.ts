// What one elaboration may do: calls are inlined and modules instantiated recursively, so a
// function that calls itself or a module that contains itself would never end (or end in a
// stack overflow), and `[10**9] Block()` would exhaust the heap. The budget tracks the calls and
// instantiations in progress, reports recursion as a cycle at the call that closes it, bounds
// their nesting and the total work, and remembers where the stack ran out if it still does.

import type { SourceLocation } from './diagnostics.ts';
import { MAX_CALL_DEPTH, MAX_STEPS } from './limits.ts';
import { describe, type Instance, type Value } from './values.ts';

/** A call being inlined or a module being instantiated. */
export interface Frame {
  kind: 'call' | 'module';
  /** the FnDecl or ModuleDecl */
  decl: object;
  /** the instance a method is called on */
  self?: Instance;
  /** the arguments: a frame with the same decl, self and key would repeat this one forever */
  key: string;
  /** for messages: `f`, `Block.forward`, `Attention` */
  name: string;
}

/** A value as far as elaboration can tell: tensors by type (their contents never steer it). */
export function valueKey(v: Value): string {
  switch (v.kind) {
    case 'string':
      return JSON.stringify(v.value);
    case 'list':
      return `[${v.items.map(valueKey).join(', ')}]`;
    case 'instance':
      return `instance ${v.instance.path}`;
    default:
      return describe(v);
  }
}

export function isStackOverflow(e: unknown): boolean {
  return e instanceof RangeError && /call stack/i.test(e.message);
}

export class Budget {
  private readonly active: Frame[] = [];
  private readonly cyclesReported = new Set<string>();
  private steps = 0;
  /** set once MAX_STEPS is spent: every later step fails without another diagnostic */
  exhausted = false;
  /** the innermost call or instantiation that was running when the stack ran out */
  overflowAt?: SourceLocation;

  constructor(private readonly report: (loc: SourceLocation, message: string) => void) {}

  /** Counts one call, instance or IR node; false once the budget is spent (reported once, at `loc`). */
  step(loc: SourceLocation): boolean {
    if (this.exhausted) return false;
    if (++this.steps <= MAX_STEPS) return true;
    this.exhausted = true;
    this.report(loc, `the model is too large to elaborate: more than ${MAX_STEPS.toLocaleString('en-US')} calls, module instances and IR nodes (is a repeat count or a chain of calls too large?)`);
    return false;
  }

  /**
   * Runs `body` as a call or an instantiation at `loc`, or returns `refused` when it would repeat
   * one already in progress (recursion: it would never end) or nest deeper than MAX_CALL_DEPTH.
   */
  within<T>(frame: Frame, loc: SourceLocation, refused: T, body: () => T): T {
    if (!this.step(loc) || !this.admits(frame, loc)) return refused;
    this.active.push(frame);
    // Nothing that can throw between the push and the try: the frame is always popped.
    try {
      return body();
    } catch (e) {
      // The innermost frame sees it first; outer frames keep its location.
      if (isStackOverflow(e)) this.overflowAt ??= loc;
      throw e;
    } finally {
      this.active.pop();
    }
  }

  /** After a stack overflow was caught: nothing is in progress any more. */
  reset(): void {
    this.active.length = 0;
    this.overflowAt = undefined;
  }

  private admits(frame: Frame, loc: SourceLocation): boolean {
    const same = this.active.filter((f) => f.kind === frame.kind);
    const again = same.findIndex((f) => f.decl === frame.decl && f.self === frame.self && f.key === frame.key);
    if (again >= 0) {
      const cycle = [...same.slice(again).map((f) => f.name), frame.name];
      const id = `${frame.kind}:${[...new Set(cycle)].sort().join(',')}`;
      if (!this.cyclesReported.has(id)) {
        this.cyclesReported.add(id);
        const what = frame.kind === 'module' ? `module ${frame.name} instantiates itself` : `${frame.name} calls itself`;
        this.report(loc, `${what}: ${cycle.join(' -> ')}`);
      }
      return false;
    }
    if (same.length >= MAX_CALL_DEPTH) {
      const names = [...same.map((f) => f.name), frame.name];
      const chain = names.length > 8 ? [...names.slice(0, 4), '...', ...names.slice(-3)] : names;
      const what = frame.kind === 'module' ? 'module instantiations' : 'calls';
      this.report(loc, `${what} nested more than ${MAX_CALL_DEPTH} deep: ${chain.join(' -> ')}`);
      return false;
    }
    return true;
  }
}
