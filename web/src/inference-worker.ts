// A JavaScript inference worker: a pthread of the module (web/cpp/js_worker_thread.cpp) whose
// event loop runs this code. It runs JavaScript engines and pre/post-processors, and it is the
// external runner (legato/external_runner.hpp) of the handlers whose JS engine instances it
// holds: it claims their requests from the pool itself (a wasm export: the core schedules and
// pre-processes), runs the engine, awaiting it if it is async, and completes them; no pool
// thread stands between the audio thread and the engine. Setup calls (creating and destroying
// instances, warm-up runs) and JS pre/post-processors still come from C++ threads through its
// mailbox. Between calls it sleeps on the mailbox's doorbell, which a posted call, a request
// for it and a message from the main thread all ring: blocking in Atomics.wait by default (the
// fastest wake-up), letting its event loop run whenever the main thread rings, every
// `idleSliceMs` and during every call (async engines); or, with `wait: "async"`, in
// Atomics.waitAsync, so its event loop never blocks (docs/web.md "Threads"). The main thread
// talks to it over a BroadcastChannel.

import type { EngineSetup, InputWindows, JsEngine, JsProcessor, OutputHops, Tensor } from "./engine.js";
import { Field, Op, State, errorBytes, readViews } from "./mailbox.js";

/** Messages from the main thread (each answered with {id, error?}). */
export type WorkerRequest =
  | { kind: "engine"; id: number; engine: number; module: string; exportName: string;
      options: Record<string, unknown>; inputNames: string[]; outputNames: string[] }
  | { kind: "processor"; id: number; processor: number; module: string; exportName: string;
      options: Record<string, unknown> }
  | { kind: "forget"; id: number; engine: number }
  | { kind: "runs"; id: number }
  | { kind: "bench"; id: number; module: string; exportName: string;
      options: Record<string, unknown>; inputs: number[][]; outputs: number[][]; runs: number;
      gapMs: number; batch?: number };

/** How a JavaScript inference worker sleeps between calls (Legato.load({ workerWait })). */
export type WorkerWait = "blocking" | "async";

/** What the worker posts on its channel besides answers: once started, or failed to. */
export type WorkerNotice = { kind: "ready" } | { kind: "failed"; error: string };

/** The module exports the worker calls (this thread's instance of the module). @internal */
interface HostModule {
  HEAPU8: Uint8Array;
  _malloc(bytes: number): number;
  _free(pointer: number): void;
  _legato_js_runner_claim(runner: number, reset: number): number;
  _legato_js_runner_finish(runner: number, error: number): void;
  stringToNewUTF8(text: string): number;
}

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
let host: HostModule;
let runner = -1;     // this worker's index: its external runner id
let resetFlag = 0;   // heap address of legato_js_runner_claim's out-parameter
let channel: BroadcastChannel;
// Engine runs this worker claimed from the pool itself, and runs a C++ thread relayed through
// the mailbox (warm-up; handlers its runner does not serve): Legato.inferenceWorkerRuns().
const runs = { claimed: 0, relayed: 0 };
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

/** [inference worker] Starts the worker in this pthread (called by js_worker_thread.cpp's
 *  boot code with the thread's module): serves `box`'s mailbox and claims as runner `index`,
 *  answering the main thread on the BroadcastChannel `channel`. @internal */
export function hostedStart(module: HostModule,
                            options: { box: number; index: number; channel: string; wait: WorkerWait }): void {
  // Emscripten names its pthreads' workers "em-pthread", and so does every emscripten build
  // (ONNX Runtime Web's included): one loaded here would take this thread for a pthread of
  // its own and wait for its main thread forever. This module has started: rename the thread.
  Object.defineProperty(globalThis, "name", { value: `legato-inference-${options.index}`, configurable: true });
  host = module;
  buffer = module.HEAPU8.buffer as SharedArrayBuffer;
  box = options.box;
  runner = options.index;
  wait = options.wait;
  i32 = new Int32Array(buffer);
  f64 = new Float64Array(buffer);
  resetFlag = module._malloc(4);
  channel = new BroadcastChannel(options.channel);
  channel.onmessage = (event: MessageEvent<WorkerRequest>) => void onRequest(event.data);
  void serve();
  channel.postMessage({ kind: "ready" } satisfies WorkerNotice);
}

async function onRequest(request: WorkerRequest): Promise<void> {
  ++received;  // the main thread rang the bell once for this message
  ++inProgress;
  try {
    if (request.kind === "engine") {
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
    } else if (request.kind === "runs") {
      channel.postMessage({ id: request.id, result: { ...runs } });
      return;
    } else if (request.kind === "bench") {
      channel.postMessage({ id: request.id, result: await benchDirect(request) });
      return;
    }
    channel.postMessage({ id: request.id });
  } catch (e) {
    channel.postMessage({ id: request.id, error: e instanceof Error ? e.message : String(e) });
  } finally {
    --inProgress;
  }
}

// One turn of the event loop (a message task: no timer clamping).
function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => {
    const channel = new MessageChannel();
    channel.port1.onmessage = () => { channel.port1.close(); resolve(); };
    channel.port2.postMessage(0);
  });
}

const header = (field: number) => i32[(box + field) >> 2];

// [inference worker] The loop: answer a posted call, else claim and run a request of the
// handlers this worker serves, else sleep on the doorbell; repeat.
async function serve(): Promise<void> {
  const at = (box + Field.state) >> 2;
  const doorbell = (box + Field.doorbell) >> 2;
  for (;;) {
    // Read before looking for work: a ring after this wakes the wait below at once.
    const rung = Atomics.load(i32, doorbell);
    if (Atomics.load(i32, at) === State.posted) {
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
      continue;
    }
    const key = host._legato_js_runner_claim(runner, resetFlag);
    if (key !== 0) {
      await runClaimed(key, i32[resetFlag >> 2] !== 0);
      continue;
    }
    if (wait === "async" || inProgress > 0) {
      // Control work (module loads, set-up) needs the event loop: wait without blocking it,
      // and look again after a slice in case that work has finished.
      const waited = Atomics.waitAsync(i32, doorbell, rung, wait === "async" ? Infinity : 1);
      if (waited.async) await waited.value;
    } else if (Atomics.load(i32, (box + Field.bell) >> 2) !== received) {
      await yieldToEventLoop();  // the main thread posted a message: let it in
    } else if (Atomics.wait(i32, doorbell, rung, idleSliceMs) === "timed-out") {
      await yieldToEventLoop();
    }
  }
}

// Runs a claimed request's engine (the core pre-processed it into the instance's input
// tensors) and completes it: the core post-processes, or counts the failure with its message.
async function runClaimed(key: number, reset: boolean): Promise<void> {
  ++runs.claimed;
  let error = "";
  try {
    const instance = instances.get(key);
    if (!instance) throw new Error(`no JavaScript engine instance ${key}`);
    if (reset) await instance.engine.reset?.();
    const pending = instance.engine.process(instance.inputs, instance.outputs);
    if (pending) await pending;
  } catch (e) {
    error = e instanceof Error ? e.message : String(e);
  }
  if (!error) {
    host._legato_js_runner_finish(runner, 0);
    return;
  }
  const text = host.stringToNewUTF8(error);
  host._legato_js_runner_finish(runner, text);
  host._free(text);
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
    ++runs.relayed;
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
