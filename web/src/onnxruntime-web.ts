// The "onnxruntime-web" engine: ONNX Runtime Web through its public API (InferenceSession), run
// on a JavaScript inference worker. One session per model instance, one intra-op thread (the
// pool's parallelism comes from Legato's workers), input and output tensors created once over
// the instance's shared-heap views.

import type { EngineSetup, JsEngine } from "./engine.js";

// The parts of onnxruntime-web's API this engine uses (the package is the app's dependency,
// loaded from a URL at run time, so its types are described here).
interface OrtTensor { readonly data: unknown }
interface OrtSession {
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  run(feeds: Record<string, OrtTensor>): Promise<Record<string, OrtTensor>>;
  release(): Promise<void>;
}
interface Ort {
  env: { wasm: { numThreads: number; wasmPaths?: string; proxy?: boolean } };
  Tensor: new (type: "float32", data: Float32Array, dims: readonly number[]) => OrtTensor;
  InferenceSession: { create(model: Uint8Array, options: object): Promise<OrtSession> };
}

/** Options (filled in by Legato.createHandler): `ort` the URL of ort.wasm.min.mjs, `model` a
 *  URL or the model's bytes. */
export class OnnxRuntimeWebEngine implements JsEngine {
  private session?: OrtSession;
  private feeds: Record<string, OrtTensor> = {};
  private outputOrder: string[] = [];

  constructor(private readonly options: Record<string, unknown>) {}

  /** [inference worker] Loads ONNX Runtime Web and the model, binds the tensors by name (by
   *  position for names the model does not have). */
  async init(setup: EngineSetup): Promise<void> {
    const url = String(this.options.ort);
    const ort = (await import(url)) as Ort;
    ort.env.wasm.numThreads = 1;
    ort.env.wasm.proxy = false;
    ort.env.wasm.wasmPaths = new URL(".", url).href;
    const model = this.options.model;
    const bytes = model instanceof Uint8Array ? model
      : new Uint8Array(await (await fetchOk(String(model))).arrayBuffer());
    this.session = await ort.InferenceSession.create(bytes, {
      executionProviders: ["wasm"], graphOptimizationLevel: "all",
    });
    const session = this.session;
    const bind = (tensors: EngineSetup["inputs"], names: readonly string[], what: string) =>
      tensors.map((tensor, k) => {
        const name = names.includes(tensor.name) ? tensor.name : names[k];
        if (name === undefined)
          throw new Error(`the model has ${names.length} ${what}s, the config ${tensors.length}`);
        return name;
      });
    const inputNames = bind(setup.inputs, session.inputNames, "input");
    this.outputOrder = bind(setup.outputs, session.outputNames, "output");
    // Inputs: tensors over the shared heap itself, made once (ONNX Runtime copies them into
    // its own memory on run()). Outputs: ONNX Runtime 1.30's CPU (wasm) path leaves
    // pre-allocated output tensors unfilled (tried over the heap and over private arrays: the
    // outputs were stale), so each run's result is copied to the heap, one set() per tensor.
    setup.inputs.forEach((t, k) => { this.feeds[inputNames[k]] = new ort.Tensor("float32", t.data, t.shape); });
  }

  /** [inference worker] One run; the outputs are copied to the heap. */
  async process(_inputs: readonly Float32Array[], outputs: readonly Float32Array[]): Promise<void> {
    const results = await this.session!.run(this.feeds);
    this.outputOrder.forEach((name, k) => {
      const data = results[name]?.data;
      if (!(data instanceof Float32Array) || data.length !== outputs[k].length)
        throw new Error(`output "${name}": expected ${outputs[k].length} float32 values`);
      outputs[k].set(data);
    });
  }

  /** [inference worker] Frees the session. */
  dispose(): void {
    void this.session?.release();
  }
}

async function fetchOk(url: string): Promise<Response> {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`could not load the model ${url}: HTTP ${response.status}`);
  return response;
}
