// What a JavaScript engine and a JavaScript pre/post-processor implement. Both run on the
// package's inference workers (web/src/inference-worker.ts), never on the audio thread; their
// arrays are Float32Array views over the module's shared memory (no copies).

/** One model tensor: its data (a view over the shared heap, bound for the instance's life). */
export interface Tensor {
  readonly name: string;
  readonly shape: readonly number[];
  readonly data: Float32Array;
}

/** What an engine instance is created with. */
export interface EngineSetup {
  /** Input tensors in config order; the same views are passed to every process() call. */
  readonly inputs: readonly Tensor[];
  readonly outputs: readonly Tensor[];
  /** 0 .. parallel_instances - 1. */
  readonly instanceIndex: number;
  /** The handler keeps state between inferences (docs/config.md "stateful"). */
  readonly stateful: boolean;
  /** The config entry's "options" object (JSON). */
  readonly options: Record<string, unknown>;
}

/**
 * A JavaScript engine: the config names its module and export
 * (`{"engine": "js", "name": "gain", "module": "./gain.js", "export": "Gain"}`); the class is
 * constructed once per model instance on an inference worker.
 *
 * Thread contract: every method runs on that inference worker. `process` may be async: the
 * worker awaits it before the next call to this instance. A thrown error fails the inference
 * (substituted and counted as natively); an error from `init` fails prepare().
 */
export interface JsEngine {
  /** [inference worker] Binds the instance to its tensors (load models here). */
  init?(setup: EngineSetup): void | Promise<void>;
  /** [inference worker] Reads `inputs`, writes `outputs` (the views given to init). */
  process(inputs: readonly Float32Array[], outputs: readonly Float32Array[]): void | Promise<void>;
  /** [inference worker] Forgets internal state (reset(), engine switches). */
  reset?(): void | Promise<void>;
  /** [inference worker] Frees what init() took. */
  dispose?(): void;
}

/** The raw samples captured for one inference (InputWindows in legato/pre_post_processor.hpp). */
export interface InputWindows {
  /** past_context + hop samples of audio input `input`, channel `channel`, oldest first. */
  samples(input: number, channel: number): Float32Array;
  /** The values of parameter input `input` when the inference was submitted. */
  parameter(input: number): Float32Array;
  readonly hopIndex: number;
  readonly instance: number;
}

/** Where post-processing writes one inference's results (OutputHops). */
export interface OutputHops {
  /** The hop of audio output `output`, channel `channel`, to fill. */
  samples(output: number, channel: number): Float32Array;
  /** The values of parameter output `output`, to fill. */
  values(output: number): Float32Array;
}

/**
 * A JavaScript pre/post-processor (config: `"processor": {"module": ..., "export": ...}`):
 * turns the raw windows into the model's input tensors and its output tensors into hops. One
 * object per inference worker; post-processing of an inference runs on the worker that
 * pre-processed it, right after the engine.
 *
 * Thread contract: both methods run on an inference worker, synchronously.
 */
export interface JsProcessor {
  /** [inference worker] Fills `tensors` (the model's inputs) from `windows`. */
  preProcess(windows: InputWindows, tensors: readonly Float32Array[]): void;
  /** [inference worker] Fills `hops` from `tensors` (the model's outputs). */
  postProcess(tensors: readonly Float32Array[], hops: OutputHops): void;
}
