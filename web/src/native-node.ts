// createNativeNode(): the native engine inside the AudioWorklet, without SharedArrayBuffer.
// For pages that are not cross-origin isolated (no COOP/COEP headers) and for small models
// (NAM .nam files, RTNeural JSON) that run per quantum on the audio thread: zero added latency.
// The main thread compiles the in-worklet module once per page (dist/legato-native-relaxed.wasm
// where the browser has relaxed SIMD, else dist/legato-native.wasm) and loads the processor
// (native-processor.ts) once per context; each node's processor instantiates the module in
// the worklet scope on first use (one instance per context) and loads its model from the bytes
// posted with it. Independent of Legato.load(): no shared memory, no worker threads.

import { disposeSymbol, neverDisposed } from "./module.js";
import type { NativeProcessorOptions, NativeProcessorReply, NativeProcessorRequest } from "./native-processor.js";

/** Options of createNativeNode(). */
export interface NativeNodeOptions {
  /** The model: a URL (fetched by the main thread) or the file's bytes. RTNeural JSON or NAM
   *  (.nam), told apart by content as natively. */
  model: string | URL | ArrayBuffer | Uint8Array;
  /** If given, the model must be of this format; another is refused. */
  format?: "nam" | "rtneural";
  /** The in-worklet module to run. Default: beside this module, dist/legato-native-relaxed.wasm
   *  when the browser validates relaxed SIMD (its fused multiply-add: Chromium, Firefox), else
   *  dist/legato-native.wasm (SIMD128 only: Safari). The two give results within float
   *  rounding of each other (fused or separate multiply-adds). */
  wasmUrl?: string | URL;
}

// The `format` option: the engine's name for it, and the name in error messages.
const formats = { nam: { format: "nam", name: "NAM" }, rtneural: { format: "rtneural-json", name: "RTNeural JSON" } };

/** What NativeWorkletNode.load() resolves with. */
export interface NativeSwitch {
  /** The context frame (currentFrame) of the first sample the new model made: every output
   *  sample before it came from the previous model. */
  frame: number;
  format: string;
  description: string;
  sampleRate: number;
  /** Where the new model's size ranges start (see NativeWorkletNode.sizes). */
  sizes: number[];
  /** Each size range's model described (see NativeWorkletNode.sizeDescriptions). */
  sizeDescriptions: string[];
  /** The module's heap right after the swap (the old model freed). */
  heap: NativeHeap;
}

// One compiled module per wasm URL for the page, one processor module load per context.
const compiled = new Map<string, Promise<WebAssembly.Module>>();
const processorLoaded = new WeakMap<BaseAudioContext, Promise<void>>();

// The smallest module using f32x4.relaxed_madd (on three i32x4.splat of 0): it validates only
// where relaxed SIMD is implemented.
const relaxedSimdProbe = new Uint8Array([
  0, 97, 115, 109, 1, 0, 0, 0,  // magic, version
  1, 5, 1, 96, 0, 1, 123,       // type section: () -> v128
  3, 2, 1, 0,                   // function section: one function of type 0
  10, 19, 1, 17, 0,             // code section: one body of 17 bytes, no locals
  65, 0, 253, 17, 65, 0, 253, 17, 65, 0, 253, 17,  // 3 x (i32.const 0, i32x4.splat)
  253, 133, 2, 11,              // f32x4.relaxed_madd (0xfd 0x105), end
]);

/** [main thread] The default in-worklet module for this browser (see NativeNodeOptions.wasmUrl).
 *  @internal */
export function defaultNativeWasm(): string {
  const relaxed = WebAssembly.validate(relaxedSimdProbe);
  return String(new URL(relaxed ? "./legato-native-relaxed.wasm" : "./legato-native.wasm", import.meta.url));
}

/** [main thread] `url` fetched and compiled, once per page (the worklet scope cannot fetch). */
function compileModule(url: string): Promise<WebAssembly.Module> {
  let module = compiled.get(url);
  if (!module) {
    module = fetch(url).then(async (response) => {
      if (!response.ok) throw new Error(`legato: cannot fetch the in-worklet module ${url}: HTTP ${response.status}`);
      return WebAssembly.compile(await response.arrayBuffer());
    });
    module.catch(() => compiled.delete(url));  // a failed fetch may be retried
    compiled.set(url, module);
  }
  return module;
}

/** [main thread] The model file's bytes (a fresh copy: it is transferred to the worklet).
 *  @internal */
export async function modelBytes(model: NativeNodeOptions["model"]): Promise<ArrayBuffer> {
  if (model instanceof ArrayBuffer) return model.slice(0);
  if (model instanceof Uint8Array) return model.slice().buffer as ArrayBuffer;
  const url = String(model);
  const response = await fetch(url);
  if (!response.ok) throw new Error(`legato: cannot fetch the model ${url}: HTTP ${response.status}`);
  return response.arrayBuffer();
}

/**
 * [main thread] A node running a native model (mono) inside `context`'s audio worklet, with no
 * added latency: every output sample is the model's response to the input sample at the same
 * frame. Works on pages without cross-origin isolation. Resolves when the model has loaded in
 * the worklet; rejects with the native engine's message for a file it refuses (corrupt .nam,
 * RTNeural JSON with wrong shapes...), for a model that is not mono, or for another `format`.
 */
export async function createNativeNode(context: BaseAudioContext,
                                       options: NativeNodeOptions): Promise<NativeWorkletNode> {
  const wasmUrl = String(options.wasmUrl ?? defaultNativeWasm());
  let loaded = processorLoaded.get(context);
  if (!loaded) {
    loaded = context.audioWorklet.addModule(new URL("./native-processor.js", import.meta.url));
    loaded.catch(() => processorLoaded.delete(context));
    processorLoaded.set(context, loaded);
  }
  const [wasm, model] = await Promise.all([compileModule(wasmUrl), modelBytes(options.model), loaded]);
  const node = new AudioWorkletNode(context, "legato-native", {
    numberOfInputs: 1, numberOfOutputs: 1, outputChannelCount: [1],
    channelCount: 1, channelCountMode: "explicit", channelInterpretation: "speakers",  // mono: downmixed
    processorOptions: { wasm, model } satisfies NativeProcessorOptions,
  });
  const ready = await new Promise<Extract<NativeProcessorReply, { type: "ready" }>>((resolve, reject) => {
    node.port.onmessage = (event: MessageEvent<NativeProcessorReply>) => {
      if (event.data.type === "ready") resolve(event.data);
      else if (event.data.type === "error") reject(new Error(event.data.message));
    };
    node.onprocessorerror = () => reject(new Error("legato: the in-worklet processor failed to start"));
  });
  const wrapped = new NativeWorkletNode(node, ready);
  if (options.format && ready.format !== formats[options.format].format) {
    wrapped.dispose();
    throw new Error(`legato: expected a ${formats[options.format].name} model, the file is ${ready.format}`);
  }
  return wrapped;
}

/** Heap figures of the in-worklet module (its own memory, one per context). */
export interface NativeHeap {
  /** Bytes malloc has handed out and not taken back. */
  heapInUse: number;
  /** The module's memory; fixed (it never grows). */
  memoryBytes: number;
}

/** A node made by createNativeNode(). Owns its model in the worklet: call dispose(). */
export class NativeWorkletNode {
  /** Samples from input to output: 0, the model runs in the quantum. */
  readonly latency = 0;
  /** The current model's format: "nam" or "rtneural-json" (changes with load()). */
  format: string;
  /** The current model's description (architecture, receptive field, metadata) at its default
   *  size: a slimmable model's full size, whatever slimmableSize selects (sizeDescriptions). */
  description: string;
  /** The rate the current model was trained at (NAM files state it), 0 when not stated. */
  sampleRate: number;
  /** The kernels the module was built with (Highway's WASM SIMD128 target, or scalar). */
  readonly kernels: string;
  /** Linear gain on the input before the model (AudioParam, a-rate, default 1). */
  readonly inputGain: AudioParam;
  /** Linear gain on the model's output (AudioParam, a-rate, default 1). */
  readonly outputGain: AudioParam;
  /** The size of a slimmable NAM model (AudioParam, k-rate, 0 to 1, default 1: full size):
   *  NAM's SetSlimmableSize ratio, applied between two quanta. Every size is built when the
   *  model loads; a change of size range starts that size's model from its loaded state (as
   *  upstream's rebuilt model does). A model with one size ignores it. */
  readonly slimmableSize: AudioParam;
  /** Where the current model's size ranges start, ascending: [0] for a model with one size;
   *  for a slimmable one also each size at which it changes (e.g. [0, 1/3, 1/2, 2/3]). */
  sizes: number[];
  /** The description of the model each size range runs, parallel to `sizes`: a slimmable NAM
   *  model's names its channels, e.g. "NAM WaveNet (slimmable, size 0: channels 2, 1): ...". */
  sizeDescriptions: string[];
  /** The module's heap right after this model loaded. */
  readonly heapAtLoad: NativeHeap;
  /** Resolves once the worklet has freed the model, with the heap after that. */
  readonly freed: Promise<NativeHeap>;
  private disposed = false;
  private nextId = 1;
  private readonly heapReplies = new Map<number, (heap: NativeHeap) => void>();
  private readonly switchReplies = new Map<number, { resolve: (s: NativeSwitch) => void; reject: (e: Error) => void }>();
  private switches: Promise<unknown> = Promise.resolve();
  private readonly token = {};

  /** @internal */
  constructor(readonly node: AudioWorkletNode, ready: Extract<NativeProcessorReply, { type: "ready" }>) {
    // TypeScript's DOM library declares AudioParamMap without its Map methods.
    const params = node.parameters as unknown as ReadonlyMap<string, AudioParam>;
    this.inputGain = params.get("inputGain")!;
    this.outputGain = params.get("outputGain")!;
    this.slimmableSize = params.get("slimmableSize")!;
    this.sizes = ready.sizes;
    this.sizeDescriptions = ready.sizeDescriptions;
    this.format = ready.format;
    this.description = ready.description;
    this.sampleRate = ready.sampleRate;
    this.kernels = ready.kernels;
    this.heapAtLoad = { heapInUse: ready.heapInUse, memoryBytes: ready.memoryBytes };
    this.freed = new Promise((resolve) => {
      node.port.onmessage = (event: MessageEvent<NativeProcessorReply>) => {
        const reply = event.data;
        if (reply.type === "disposed") resolve({ heapInUse: reply.heapInUse, memoryBytes: reply.memoryBytes });
        if (reply.type === "heap") {
          this.heapReplies.get(reply.id)?.({ heapInUse: reply.heapInUse, memoryBytes: reply.memoryBytes });
          this.heapReplies.delete(reply.id);
        }
        if (reply.type === "switched" || reply.type === "switch-failed") {
          const pending = this.switchReplies.get(reply.id);
          this.switchReplies.delete(reply.id);
          if (reply.type === "switch-failed") pending?.reject(new Error(reply.message));
          else {
            this.format = reply.format;
            this.description = reply.description;
            this.sampleRate = reply.sampleRate;
            this.sizes = reply.sizes;
            this.sizeDescriptions = reply.sizeDescriptions;
            pending?.resolve({ frame: reply.frame, format: reply.format, description: reply.description,
                               sampleRate: reply.sampleRate, sizes: reply.sizes,
                               sizeDescriptions: reply.sizeDescriptions,
                               heap: { heapInUse: reply.heapInUse, memoryBytes: reply.memoryBytes } });
          }
        }
      };
    });
    neverDisposed.register(this, "a NativeWorkletNode", this.token);
  }

  private post(request: NativeProcessorRequest): void {
    this.node.port.postMessage(request);
  }

  /** [main thread] Back to the model's state right after loading, between two quanta (NAM
   *  models copy back the state their load-time pre-warm left). */
  reset(): void {
    if (this.disposed) throw new Error("legato: the NativeWorkletNode was disposed");
    this.post({ type: "reset" });
  }

  /**
   * [main thread] Replaces the model while audio runs. The main thread fetches the file (a URL)
   * or copies the bytes; the worklet loads it between two render quanta, swaps it in at that
   * boundary (the old model made every sample before `frame`, the new one every sample from it:
   * no gap, no crossfade) and frees the old one there, outside process(). The new model starts
   * from its state after loading. Rejects with the native engine's message, or for another
   * `format`, and then the old model keeps playing. Loading runs on the audio thread: a large
   * model may make that quantum late (an audible glitch), as in createNativeNode(). Calls are
   * applied in order.
   */
  load(model: NativeNodeOptions["model"], options: { format?: NativeNodeOptions["format"] } = {}): Promise<NativeSwitch> {
    if (this.disposed) return Promise.reject(new Error("legato: the NativeWorkletNode was disposed"));
    const format = options.format ? formats[options.format] : undefined;
    const run = async () => {
      const bytes = await modelBytes(model);
      if (this.disposed) throw new Error("legato: the NativeWorkletNode was disposed");
      const id = this.nextId++;
      return new Promise<NativeSwitch>((resolve, reject) => {
        this.switchReplies.set(id, { resolve, reject });
        this.node.port.postMessage({ type: "switch", id, model: bytes, format: format?.format,
                                     formatName: format?.name } satisfies NativeProcessorRequest, [bytes]);
      });
    };
    const result = this.switches.then(run, run);
    this.switches = result.catch(() => undefined);
    return result;
  }

  /** [main thread] The module's heap now, as the worklet reads it (for leak checks). */
  heap(): Promise<NativeHeap> {
    if (this.disposed) throw new Error("legato: the NativeWorkletNode was disposed");
    const id = this.nextId++;
    return new Promise((resolve) => {
      this.heapReplies.set(id, resolve);
      this.post({ type: "heap", id });
    });
  }

  /** [main thread] Disconnects the node and frees its model in the worklet (between two
   *  quanta; `freed` resolves then). Idempotent. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    neverDisposed.unregister(this.token);
    this.node.disconnect();
    this.post({ type: "dispose" });
    for (const pending of this.switchReplies.values()) pending.reject(new Error("legato: the NativeWorkletNode was disposed"));
    this.switchReplies.clear();
  }

  [disposeSymbol](): void {
    this.dispose();
  }
}
