// A JavaScript inference worker (a module Web Worker the package starts): runs JavaScript
// engines and pre/post-processors for the C++ pool threads that post to its mailbox in the
// shared memory. Between calls it sleeps on the mailbox word: blocking in Atomics.wait by
// default (the fastest wake-up), letting its event loop run whenever the main thread rings the
// bell, every `idleSliceMs` and during every call (async engines); or, with `wait: "async"`,
// in Atomics.waitAsync, so its event loop never blocks (docs/web.md "Threads"). It never
// instantiates the WebAssembly module: it only needs the memory.

import type { EngineSetup, InputWindows, JsEngine, JsProcessor, OutputHops, Tensor } from "./engine.js";
import { Field, Op, State, errorBytes, readViews } from "./mailbox.js";

/** Messages from the main thread (each answered with {id, error?}). */
export type WorkerRequest =
  | { kind: "start"; id: number; buffer: SharedArrayBuffer; box: number; wait: WorkerWait }
  | { kind: "engine"; id: number; engine: number; module: string; exportName: string;
      options: Record<string, unknown>; inputNames: string[]; outputNames: string[] }
  | { kind: "processor"; id: number; processor: number; module: string; exportName: string;
      options: Record<string, unknown> }
  | { kind: "forget"; id: number; engine: number }
  | { kind: "bench"; id: number; module: string; exportName: string;
      options: Record<string, unknown>; inputs: number[][]; outputs: number[][]; runs: number;
      gapMs: number; batch?: number };

/** How a JavaScript inference worker sleeps between calls (Legato.load({ workerWait })). */
export type WorkerWait = "blocking" | "async";

type EngineClass = new (options: Record<string, unknown>) => JsEngine;
type ProcessorClass = new (options: Record<string, unknown>) => JsProcessor;

interface EngineEntry { cls: EngineClass; options: Record<string, unknown>;
                        inputNames: string[]; outputNames: string[] }
interface Instance { engine: JsEngine; inputs: Float32Array[]; outputs: Float32Array[] }

const engines = new Map<number, EngineEntry>();
const processors = new Map<number, { cls: ProcessorClass; options: Record<string, unknown>;
                                     object?: JsProcessor }>();
const instances = new Map<number, Instance>();
let buffer: SharedArrayBuffer;
let box = 0;
let i32: Int32Array;
let f64: Float64Array;
let wait: WorkerWait = "blocking";
let received = 0;    // control messages delivered to onmessage
let inProgress = 0;  // control messages still being handled (module loads, engine set-up)
// Blocking while idle holds back the worker's own tasks (an engine's timers, fetches) for at
// most this long: the loop then lets the event loop run once.
const idleSliceMs = 10;

async function load(module: string, exportName: string): Promise<unknown> {
  const loaded = (await import(module)) as Record<string, unknown>;
  const found = loaded[exportName];
  if (typeof found !== "function")
    throw new Error(`${module} has no class export "${exportName}"`);
  return found;
}

self.onmessage = async (event: MessageEvent<WorkerRequest>) => {
  const request = event.data;
  if (request.kind !== "start") ++received;  // the bell rings for every message after "start"
  ++inProgress;
  try {
    if (request.kind === "start") {
      buffer = request.buffer;
      box = request.box;
      i32 = new Int32Array(buffer);
      f64 = new Float64Array(buffer);
      wait = request.wait;
      void serve();
    } else if (request.kind === "engine") {
      engines.set(request.engine, {
        cls: (await load(request.module, request.exportName)) as EngineClass,
        options: request.options, inputNames: request.inputNames, outputNames: request.outputNames,
      });
    } else if (request.kind === "processor") {
      processors.set(request.processor, {
        cls: (await load(request.module, request.exportName)) as ProcessorClass,
        options: request.options,
      });
    } else if (request.kind === "forget") {
      engines.delete(request.engine);
      processors.delete(request.engine);
    } else if (request.kind === "bench") {
      postMessage({ id: request.id, result: await benchDirect(request) });
      return;
    }
    postMessage({ id: request.id });
  } catch (e) {
    postMessage({ id: request.id, error: e instanceof Error ? e.message : String(e) });
  } finally {
    --inProgress;
  }
};

// One turn of the event loop (a message task: no timer clamping).
function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => {
    const channel = new MessageChannel();
    channel.port1.onmessage = () => { channel.port1.close(); resolve(); };
    channel.port2.postMessage(0);
  });
}

const header = (field: number) => i32[(box + field) >> 2];

// [inference worker] The mailbox loop: wait for a posted call, run it, answer, repeat.
async function serve(): Promise<void> {
  const at = (box + Field.state) >> 2;
  for (;;) {
    const state = Atomics.load(i32, at);
    if (state !== State.posted) {
      if (wait === "async" || inProgress > 0) {
        // Control work (module loads, set-up) needs the event loop: wait without blocking it,
        // and look again after a slice in case that work has finished.
        const waited = Atomics.waitAsync(i32, at, state, wait === "async" ? Infinity : 1);
        if (waited.async) await waited.value;
      } else if (Atomics.load(i32, (box + Field.bell) >> 2) !== received) {
        await yieldToEventLoop();  // the main thread posted a message: let it in
      } else if (Atomics.wait(i32, at, state, idleSliceMs) === "timed-out") {
        await yieldToEventLoop();
      }
      continue;
    }
    let answer: number = State.done;
    try {
      const pending = handle(header(Field.op));
      if (pending) await pending;
    } catch (e) {
      writeError(e instanceof Error ? e.message : String(e));
      answer = State.failed;
    }
    Atomics.store(i32, at, answer);
    Atomics.notify(i32, at);
  }
}

function writeError(message: string): void {
  const bytes = new TextEncoder().encode(message).subarray(0, errorBytes - 1);
  const target = new Uint8Array(buffer, box + Field.error, errorBytes);
  target.fill(0);
  target.set(bytes);
}

// Runs one call; returns a promise only when the user's code returned one (a synchronous
// engine costs no microtask hop).
function handle(op: number): void | Promise<void> {
  const key = header(Field.instance);
  const id = header(Field.engine);
  if (op === Op.run) {
    const instance = instances.get(key);
    if (!instance) throw new Error(`no JavaScript engine instance ${key}`);
    return instance.engine.process(instance.inputs, instance.outputs);
  }
  if (op === Op.create) return create(id, key);
  if (op === Op.reset) return instances.get(key)?.engine.reset?.();
  if (op === Op.destroy) {
    instances.get(key)?.engine.dispose?.();
    instances.delete(key);
    return;
  }
  if (op === Op.pre || op === Op.post) return prePost(op, id);
  throw new Error(`unknown mailbox operation ${op}`);
}

async function create(id: number, key: number): Promise<void> {
  const entry = engines.get(id);
  if (!entry) throw new Error(`JavaScript engine ${id} was not loaded on this worker`);
  const tensors = (views: ReturnType<typeof readViews>, names: string[]): Tensor[] =>
    views.map((v, k) => ({ name: names[k] ?? `#${k}`, shape: v.shape, data: v.data }));
  const inputs = tensors(readViews(buffer, box, Field.viewsA, header(Field.countA)), entry.inputNames);
  const outputs = tensors(readViews(buffer, box, Field.viewsB, header(Field.countB)), entry.outputNames);
  const engine = new entry.cls(entry.options);
  const setup: EngineSetup = {
    inputs, outputs, instanceIndex: header(Field.instanceIndex),
    stateful: (header(Field.flags) & 1) !== 0, options: entry.options,
  };
  await engine.init?.(setup);
  if (typeof engine.process !== "function") throw new Error("the engine class has no process()");
  instances.set(key, { engine, inputs: inputs.map((t) => t.data), outputs: outputs.map((t) => t.data) });
}

function prePost(op: number, id: number): void {
  const entry = processors.get(id);
  if (!entry) throw new Error(`JavaScript processor ${id} was not loaded on this worker`);
  entry.object ??= new entry.cls(entry.options);
  const a = readViews(buffer, box, Field.viewsA, header(Field.countA));
  const b = readViews(buffer, box, Field.viewsB, header(Field.countB));
  const find = (list: typeof a, tag0: number, tag1: number, what: string) => {
    const found = list.find((v) => v.tag0 === tag0 && v.tag1 === tag1);
    if (!found) throw new Error(`no ${what} ${tag0}${tag1 >= 0 ? `, channel ${tag1}` : ""}`);
    return found.data;
  };
  if (op === Op.pre) {
    const windows: InputWindows = {
      samples: (input, channel) => find(a, input, channel, "audio input"),
      parameter: (input) => find(a, input, -1, "parameter input"),
      hopIndex: f64[(box + Field.hopIndex) >> 3],
      instance: header(Field.instanceIndex),
    };
    entry.object.preProcess(windows, b.map((v) => v.data));
  } else {
    const hops: OutputHops = {
      samples: (output, channel) => find(b, output, channel, "audio output"),
      values: (output) => find(b, output, -1, "parameter output"),
    };
    entry.object.postProcess(a.map((v) => v.data), hops);
  }
}

// [inference worker] The engine called directly, without Legato: private tensors of the given
// shapes, `runs` process() calls timed one by one (ms). The baseline for the web path's
// per-inference overhead (npm run bench).
async function benchDirect(request: Extract<WorkerRequest, { kind: "bench" }>): Promise<number[]> {
  const cls = (await load(request.module, request.exportName)) as EngineClass;
  const tensors = (shapes: number[][]): Tensor[] => shapes.map((shape, k) => ({
    name: `#${k}`, shape, data: new Float32Array(shape.reduce((a, b) => a * b, 1)),
  }));
  const inputs = tensors(request.inputs);
  const outputs = tensors(request.outputs);
  inputs.forEach((t) => t.data.forEach((_, n) => { t.data[n] = Math.sin(n * 0.01) * 0.3; }));
  const engine = new cls(request.options);
  await engine.init?.({ inputs, outputs, instanceIndex: 0, stateful: false, options: request.options });
  const ins = inputs.map((t) => t.data);
  const outs = outputs.map((t) => t.data);
  const times: number[] = [];
  const sleeper = new Int32Array(new SharedArrayBuffer(4));
  // Back to back, `batch` runs are timed together (each entry their mean): the clock has 5 µs
  // steps in an isolated page, too coarse for one run of a small model.
  const batch = request.gapMs > 0 ? 1 : Math.max(1, request.batch ?? 1);
  for (let r = 0; r + batch <= request.runs; r += batch) {
    // Paced like a real-time stream: the thread sleeps between runs, as a worker does.
    if (request.gapMs > 0) Atomics.wait(sleeper, 0, 0, request.gapMs);
    const start = performance.now();
    for (let k = 0; k < batch; ++k) await engine.process(ins, outs);
    times.push((performance.now() - start) / batch);
  }
  engine.dispose?.();
  return times;
}
