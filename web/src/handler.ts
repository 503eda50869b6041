// InferenceHandler: a Legato handler in the module's memory (legato/inference_handler.hpp).

import { type LegatoModule, allocate, disposeSymbol, lastError, newString, neverDisposed } from "./module.js";

/** What a handler has done so far (legato/statistics.hpp). */
export interface Statistics {
  blocks: number;
  frames: number;
  oversizedBlocks: number;
  inferencesSubmitted: number;
  inferencesCompleted: number;
  lateInferences: number;
  droppedInferences: number;
  expiredInferences: number;
  failedInferences: number;
  substitutedFrames: number;
  resets: number;
  maxInferenceMs: number;
  meanInferenceMs: number;
  maxInferenceTimeMs: number;
}

const statisticsFields: (keyof Statistics)[] = [
  "blocks", "frames", "oversizedBlocks", "inferencesSubmitted", "inferencesCompleted",
  "lateInferences", "droppedInferences", "expiredInferences", "failedInferences",
  "substitutedFrames", "resets", "maxInferenceMs", "meanInferenceMs", "maxInferenceTimeMs",
];

/** A Legato InferenceHandler in the module's memory. Owns it: call dispose(). */
export class InferenceHandler {
  private handle: number;
  private buffers = 0;
  private capacity = 0;
  private readonly token = {};

  /** @internal */
  constructor(private readonly m: LegatoModule, handle: number, readonly engineNames: string[],
              readonly parameterDefaults: ReadonlyMap<string, number>,
              /** The hop of the first audio input (samples per inference). */
              readonly hop: number,
              private readonly onDispose: () => void) {
    this.handle = handle;
    neverDisposed.register(this, "an InferenceHandler", this.token);
  }

  /** [main thread] Prepares for the host: sample rate, largest block; offline rendering waits
   *  for every inference (not real-time: never in a worklet). In real time the latency is the
   *  computed one (hop, inference bound, block) plus `burstQuanta` render quanta (default 4:
   *  Chromium renders quanta in bursts; docs/latency.md "In browsers"), or `latency` samples if
   *  that is more. Creates the engine instances (JavaScript engines' init() runs on their
   *  workers meanwhile). Throws an Error with Legato's message. */
  prepare(sampleRate: number, maxBlock: number,
          options: { offline?: boolean; latency?: number; burstQuanta?: number } = {}): void {
    const m = this.m;
    const margin = 128 * (options.burstQuanta ?? 4);
    if (m._legato_handler_prepare(this.live(), sampleRate, maxBlock, options.offline ? 1 : 0,
                                  options.latency ?? 0, margin) !== 0)
      throw lastError(m);
    const channels = this.channelCount;
    const needed = Math.max(channels.inputs, channels.outputs, 1) * maxBlock;
    if (needed > this.capacity) {
      if (this.buffers !== 0) m._free(this.buffers);
      this.buffers = allocate(m, 2 * needed * 4);
      this.capacity = needed;
    }
  }

  /** [any thread] The latency in samples. */
  get latency(): number {
    return this.m._legato_handler_latency(this.live());
  }

  /** [any thread] Audio channels of the streamed inputs and outputs. */
  get channelCount(): { inputs: number; outputs: number } {
    const packed = this.m._legato_handler_channels(this.live());
    return { inputs: packed >> 8, outputs: packed & 255 };
  }

  /** [any thread] Requests a reset, applied by the audio thread at its next process() call:
   *  pending inferences are dropped, state and rings zeroed, the pre-roll restarts. */
  reset(): void {
    this.m._legato_handler_reset(this.live());
  }

  /** [any thread] Selects an engine of the config by index or name, from the next inference on
   *  (as natively: the latency stays; an engine slower than the bound has late hops counted).
   *  Throws for an unknown engine. */
  setEngine(engine: number | string): void {
    const index = typeof engine === "number" ? engine : this.engineNames.indexOf(engine);
    if (index < 0 || this.m._legato_handler_set_engine(this.live(), index) !== 0)
      throw new Error(`legato: no engine ${JSON.stringify(engine)} (engines: ${this.engineNames.join(", ")})`);
  }

  /** [any thread] The active engine's index into engineNames. */
  get engine(): number {
    return this.m._legato_handler_engine(this.live());
  }

  /** [main thread] Sets a parameter input (non-streamed tensor) by name; the next inference
   *  submitted sees the values. Throws for an unknown name. */
  setParameter(name: string, values: number | ArrayLike<number>): void {
    const m = this.m;
    const list = typeof values === "number" ? [values] : values;
    const text = newString(m, name);
    let data = 0;
    try {
      data = allocate(m, Math.max(list.length, 1) * 4);
      m.HEAPF32.set(list, data >> 2);
      if (m._legato_handler_set_parameter(this.live(), text, data, list.length) !== 0)
        throw new Error(`legato: no parameter input "${name}" with ${list.length} value(s)`);
    } finally {
      m._free(text);
      if (data !== 0) m._free(data);
    }
  }

  /** [any thread] Switches between offline rendering (process() waits for every result: main
   *  thread or a worker only) and real time. */
  setOfflineRendering(offline: boolean): void {
    this.m._legato_handler_set_offline(this.live(), offline ? 1 : 0);
  }

  /** [any thread] What the handler has done so far. */
  statistics(): Statistics {
    const m = this.m;
    const out = allocate(m, statisticsFields.length * 8);
    try {
      m._legato_handler_statistics(this.live(), out);
      const values = m.HEAPF64.subarray(out >> 3, (out >> 3) + statisticsFields.length);
      const result = {} as Statistics;
      statisticsFields.forEach((field, k) => { result[field] = values[k]; });
      return result;
    } finally {
      m._free(out);
    }
  }

  /** [any thread] Frames the late policy replaced so far. */
  get substitutedFrames(): number {
    return this.statistics().substitutedFrames;
  }

  /** [any thread] Late inferences so far. */
  /** [main thread] The last error an engine or processor reported while running (a failed
   *  inference: counted in failedInferences, its hop substituted); "" if none. */
  get lastError(): string {
    return this.m.UTF8ToString(this.m._legato_handler_last_error(this.live()));
  }

  get lateInferences(): number {
    return this.statistics().lateInferences;
  }

  /** @internal The C ABI's handle (WebHandler*: legato_handler_* calls from worklet code). */
  get webHandle(): number {
    return this.live();
  }

  /** @internal The C++ InferenceHandler's address (for worklet code in the same module). */
  get nativeHandle(): number {
    return this.m._legato_handler_native(this.live());
  }

  /** [audio thread or main thread] Processes one mono block (at most the prepared block size).
   *  From JavaScript on the main thread this is for offline use and tests; real-time audio
   *  goes through createNode() (the C++ worklet), which copies nothing through JS. */
  process(input: Float32Array, output: Float32Array): void {
    this.processChannels([input], [output]);
  }

  /** [audio thread or main thread] Processes one block of planar channels: `inputs[c]` into
   *  `outputs[c]`, all of one length (at most the prepared block size). */
  processChannels(inputs: readonly Float32Array[], outputs: readonly Float32Array[]): void {
    const frames = inputs.length ? inputs[0].length : outputs[0]?.length ?? 0;
    const channels = Math.max(inputs.length, outputs.length);
    if (frames * channels > this.capacity)
      throw new Error(`process: ${channels} x ${frames} frames, prepared for ${this.capacity} samples`);
    const m = this.m;
    const inAt = this.buffers;
    const outAt = this.buffers + this.capacity * 4;
    inputs.forEach((channel, c) => m.HEAPF32.set(channel, (inAt >> 2) + c * frames));
    m._legato_handler_process_planar(this.live(), inAt, inputs.length, outAt, outputs.length, frames,
                                     frames);
    outputs.forEach((channel, c) =>
      channel.set(m.HEAPF32.subarray((outAt >> 2) + c * frames, (outAt >> 2) + (c + 1) * frames)));
  }

  /** [main thread] Frees the handler and its buffers (waits for its running inferences).
   *  Idempotent. Not while a node still runs it. */
  dispose(): void {
    if (this.handle === 0) return;
    this.m._legato_handler_destroy(this.handle);
    if (this.buffers !== 0) this.m._free(this.buffers);
    this.handle = 0;
    this.buffers = 0;
    neverDisposed.unregister(this.token);
    this.onDispose();
  }

  [disposeSymbol](): void {
    this.dispose();
  }

  private live(): number {
    if (this.handle === 0) throw new Error("legato: the InferenceHandler was disposed");
    return this.handle;
  }
}
