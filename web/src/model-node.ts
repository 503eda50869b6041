// createModelNode(): one call for a native model (NAM .nam, RTNeural JSON) that runs either
// inside the AudioWorklet (createNativeNode: the native engine in its own module, no shared
// memory, zero added latency) or on Legato's worker pool (Legato.load(), a handler with the
// native engine, createNode: shared memory, a latency). It picks as native Legato's
// "inline": "auto" does: in the worklet when the model's cost per render quantum fits a budget
// (default 25 % of the quantum's period), on the pool otherwise; and in the worklet whenever the
// page is not cross-origin isolated, since the pool needs SharedArrayBuffer.

import type { InferenceHandler } from "./handler.js";
import { Legato } from "./index.js";
import { disposeSymbol } from "./module.js";
import { createNativeNode, modelBytes, type NativeNodeOptions, type NativeWorkletNode } from "./native-node.js";
import type { LegatoNode } from "./node.js";

/** Options of createModelNode(). */
export interface ModelNodeOptions extends NativeNodeOptions {
  /** "auto" (default): the worklet when the model fits `budget` or the page is not cross-origin
   *  isolated, else the pool. "worklet" or "pool" force one; "pool" on a page without
   *  cross-origin isolation is an error naming the two headers. */
  mode?: "auto" | "worklet" | "pool";
  /** "auto": the share of a render quantum's period (128 frames at the context's rate) the
   *  model's measured cost may take in the worklet, above 0 and at most 1. Default 0.25, as
   *  native Legato's inline budget. */
  budget?: number;
  /** The pool: a loaded module to use (default: one Legato.load({ jsWorkers: 0 }) per page). */
  legato?: Legato;
  /** The pool: samples per inference (default 128). */
  hop?: number;
}

/** Which mode createModelNode() chose, and why. */
export interface ModelNodeChoice {
  mode: "worklet" | "pool";
  /** For people: the rule that decided, with the figures. */
  reason: string;
  /** The model's measured cost per render quantum in the worklet, in ms ("auto" on an
   *  isolated page measures it; otherwise undefined). */
  quantumCostMs?: number;
  /** The budget it was held against, in ms per quantum. */
  budgetMs: number;
}

let pageLegato: Promise<Legato> | undefined;

const quantum = 128;

/** [main thread] A few seconds of plucked-string-like test signal (decaying noise bursts). */
function testSignal(length: number): Float32Array {
  const data = new Float32Array(length);
  let state = 0x2545f491;
  for (let n = 0; n < length; ++n) {
    state ^= state << 13; state ^= state >>> 17; state ^= state << 5;
    const decay = Math.exp(-((n % 12000) / 2400));
    data[n] = ((state >>> 0) / 4294967296 - 0.5) * decay;
  }
  return data;
}

/**
 * [main thread] What the model costs per render quantum in the worklet, in ms: offline renders
 * of `seconds` of test signal at `sampleRate` through the in-worklet node (after one to warm
 * up), the median of three, over the quanta. It is the whole render's time, so it includes the
 * worklet node's own cost per quantum (an upper bound for the model, as the audio thread pays
 * it too). The same processor and module as live, on the offline rendering thread: nothing that
 * plays is disturbed.
 */
export async function measureWorkletCost(model: ArrayBuffer | Uint8Array, sampleRate: number,
                                         options: { wasmUrl?: string | URL; seconds?: number } = {}): Promise<number> {
  const length = Math.max(1, Math.round((options.seconds ?? 0.5) * sampleRate / quantum)) * quantum;
  const signal = testSignal(length);
  const render = async () => {
    const context = new OfflineAudioContext(1, length, sampleRate);
    const buffer = context.createBuffer(1, length, sampleRate);
    buffer.copyToChannel(signal, 0);
    const source = new AudioBufferSourceNode(context, { buffer });
    const node = await createNativeNode(context, { model, wasmUrl: options.wasmUrl });
    source.connect(node.node).connect(context.destination);
    source.start();
    const started = performance.now();
    await context.startRendering();
    const ms = performance.now() - started;
    node.dispose();
    return ms;
  };
  await render();
  const times = [await render(), await render(), await render()].sort((a, b) => a - b);
  return times[1] / (length / quantum);
}

/** A node made by createModelNode(): the model in the worklet or on the pool. Owns what it
 *  made: call dispose(). */
export class ModelNode {
  /** The node to connect: mono in, mono out. */
  readonly node: AudioNode;
  /** Samples from input to output: 0 in the worklet; the handler's latency on the pool. */
  readonly latency: number;

  /** @internal */
  constructor(readonly choice: ModelNodeChoice,
              /** The in-worklet node (mode "worklet"). */
              readonly worklet?: NativeWorkletNode,
              /** The pool's handler (mode "pool"): its statistics; renderOffline() takes it. */
              readonly handler?: InferenceHandler,
              /** The pool's node (mode "pool"). */
              readonly poolNode?: LegatoNode) {
    this.node = worklet ? worklet.node : poolNode!.node;
    this.latency = worklet ? 0 : poolNode!.latency;
  }

  /** "worklet" or "pool". */
  get mode(): "worklet" | "pool" {
    return this.choice.mode;
  }

  /** [main thread] Releases the node (and on the pool its handler). Idempotent. */
  dispose(): void {
    this.worklet?.dispose();
    this.poolNode?.dispose();
    this.handler?.dispose();
  }

  [disposeSymbol](): void {
    this.dispose();
  }
}

/**
 * [main thread] A node running a native model (NAM .nam or RTNeural JSON, mono) in `context`,
 * in the AudioWorklet or on the worker pool (see ModelNodeOptions.mode; `choice` says which and
 * why). Rejects with the native engine's message for a model it refuses, and, for mode "pool"
 * on a page that is not cross-origin isolated, with an Error naming the COOP/COEP headers. On
 * the pool in an OfflineAudioContext, render with renderOffline(context, [node.handler]).
 */
export async function createModelNode(context: BaseAudioContext, options: ModelNodeOptions): Promise<ModelNode> {
  const mode = options.mode ?? "auto";
  if (mode !== "auto" && mode !== "worklet" && mode !== "pool")
    throw new Error(`legato: createModelNode: mode must be "auto", "worklet" or "pool", got ${String(mode)}`);
  const budget = options.budget ?? 0.25;
  if (!(budget > 0 && budget <= 1))
    throw new Error(`legato: createModelNode: budget must be above 0 and at most 1, got ${budget}`);
  const budgetMs = (budget * quantum * 1000) / context.sampleRate;
  const isolated = Boolean(globalThis.crossOriginIsolated);
  if (mode === "pool" && !isolated)
    throw new Error(
      "legato: createModelNode: mode \"pool\" needs shared memory, and the page is not cross-origin " +
        "isolated: serve it with the headers Cross-Origin-Opener-Policy: same-origin and " +
        "Cross-Origin-Embedder-Policy: require-corp, or use mode \"worklet\"");
  const bytes = new Uint8Array(await modelBytes(options.model));
  const inWorklet = async (choice: ModelNodeChoice) =>
    new ModelNode(choice, await createNativeNode(context, { ...options, model: bytes }));

  if (mode === "worklet")
    return inWorklet({ mode: "worklet", reason: "asked for the worklet", budgetMs });
  if (mode === "auto" && !isolated)
    return inWorklet({ mode: "worklet", reason: "the page is not cross-origin isolated (no shared memory for the pool)", budgetMs });
  let quantumCostMs: number | undefined;
  if (mode === "auto") {
    quantumCostMs = await measureWorkletCost(bytes, context.sampleRate, { wasmUrl: options.wasmUrl });
    const figures = `${(quantumCostMs * 1000).toFixed(1)} µs per quantum, budget ${(budgetMs * 1000).toFixed(1)} µs`;
    if (quantumCostMs <= budgetMs)
      return inWorklet({ mode: "worklet", reason: `fits the worklet: ${figures}`, quantumCostMs, budgetMs });
    return onPool(context, options, bytes, { mode: "pool", reason: `too slow for the worklet: ${figures}`, quantumCostMs, budgetMs });
  }
  return onPool(context, options, bytes, { mode: "pool", reason: "asked for the pool", budgetMs });
}

/** [main thread] The model on the pool: a stateful mono handler with the native engine, never
 *  inline, prepared for real time at 128-frame blocks, and its node. */
async function onPool(context: BaseAudioContext, options: ModelNodeOptions, bytes: Uint8Array,
                      choice: ModelNodeChoice): Promise<ModelNode> {
  const legato = options.legato ?? await (pageLegato ??= Legato.load({ jsWorkers: 0 }));
  const hop = options.hop ?? quantum;
  if (!Number.isInteger(hop) || hop < 1)
    throw new Error(`legato: createModelNode: hop must be a whole number of samples, got ${hop}`);
  const tensor = (name: string) => ({ name, role: "audio", shape: [1, 1, -1], hop });
  const config = {
    name: "model",
    engines: [{ engine: "native", model: "model" }],
    inputs: [{ ...tensor("input"), past_context: 0 }],
    outputs: [tensor("output")],
    stateful: true,
    inline: "never",
    max_inference_time_ms: "measure",
  };
  if (options.format) {  // as createNativeNode() checks it: NAM files have an "architecture"
    let text: unknown;
    try {
      text = JSON.parse(new TextDecoder().decode(bytes));
    } catch {
      text = undefined;  // not JSON: the engine's message says so
    }
    const nam = typeof text === "object" && text !== null && "architecture" in text;
    if (text !== undefined && nam !== (options.format === "nam"))
      throw new Error(`legato: expected a ${options.format === "nam" ? "NAM" : "RTNeural JSON"} model, ` +
                      `the file is ${nam ? "nam" : "rtneural-json"}`);
  }
  const handler = await legato.createHandler(config, { models: { model: bytes } });
  try {
    handler.prepare(context.sampleRate, quantum);
    const node = await legato.createNode(context, handler);
    return new ModelNode(choice, undefined, handler, node);
  } catch (e) {
    handler.dispose();
    throw e;
  }
}
