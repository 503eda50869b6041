// The base class for custom AudioWorklet processors that run a Legato handler: load this module
// into the context's audio worklet after Legato.startWorklet(context) (which instantiates the
// WebAssembly module in the worklet scope as `globalThis.Module`), extend LegatoProcessor,
// registerProcessor() it, and create the node with Legato.createWorkletNode(). Everything here
// runs on the audio thread: it copies samples into the shared heap (buffers allocated by the
// main thread), calls the handler's process() and copies the result out. Nothing allocates,
// locks or waits.

// The worklet scope's globals (TypeScript's DOM library does not describe them).
declare const AudioWorkletProcessor: {
  prototype: object;
  new (options?: unknown): { readonly port: MessagePort };
};
interface WorkletModule {
  HEAPF32: Float32Array;
  _legato_handler_process_planar(handler: number, input: number, inChannels: number, output: number,
                                 outChannels: number, stride: number, frames: number): void;
  _legato_handler_set_parameter(handler: number, name: number, values: number, count: number): number;
}

/** What Legato.createWorkletNode() passes as `processorOptions.legato`. @internal */
export interface LegatoProcessorSetup {
  handler: number;  // the C ABI's handle (legato_handler_create)
  input: number;   // inputChannels x blockSize floats (byte address)
  output: number;  // outputChannels x blockSize floats
  inputChannels: number;
  outputChannels: number;
  blockSize: number;
  parameters: { name: string; namePointer: number; valuePointer: number }[];
}

const quantum = 128;

/**
 * A custom worklet processor around a Legato handler. The default process() runs the node's
 * first input through the handler into its first output; override process() for other
 * layouts (several inputs, sidechains, own DSP around the model) and call processLegato()
 * once per quantum. With a blockSize above 128 (a multiple of 128) the handler is called once
 * per block: the node then adds blockSize - 128 samples to the handler's latency
 * (LegatoNode.latency says the total).
 *
 * Thread contract: every method runs on the audio thread, inside process().
 */
export class LegatoProcessor extends AudioWorkletProcessor {
  /** The setup Legato.createWorkletNode() made (handler, buffers, block size). */
  protected readonly legato: LegatoProcessorSetup;
  private readonly module: WorkletModule;
  private readonly inputBlock: Float32Array[];
  // outputQuanta[c][k]: quantum k of output channel c's block, made once (no views per quantum).
  private readonly outputQuanta: Float32Array[][];
  private offset = 0;  // where this quantum sits in the block

  constructor(options: { processorOptions?: { legato?: LegatoProcessorSetup } }) {
    super(options);
    const setup = options.processorOptions?.legato;
    const module = (globalThis as { Module?: WorkletModule }).Module;
    if (!setup || !module) {
      const message = `LegatoProcessor: ${!module ? "no WebAssembly module in this worklet scope: call Legato.startWorklet(context) before addModule()" : "no processorOptions.legato: create the node with Legato.createWorkletNode()"}`;
      this.port.postMessage({ legatoError: message });  // the main thread logs it
      throw new Error(message);
    }
    this.legato = setup;
    this.module = module;
    const views = (at: number, channels: number) => Array.from({ length: channels }, (_, c) =>
      module.HEAPF32.subarray((at >> 2) + c * setup.blockSize, (at >> 2) + (c + 1) * setup.blockSize));
    this.inputBlock = views(setup.input, setup.inputChannels);
    this.outputQuanta = views(setup.output, setup.outputChannels).map((block) =>
      Array.from({ length: setup.blockSize / quantum }, (_, k) => block.subarray(k * quantum, (k + 1) * quantum)));
  }

  /** [audio thread] Sets parameter input `name` (one value; named in createWorkletNode's
   *  `parameters`) for the inferences submitted from now on. Returns false for a name the node
   *  was not given. */
  setParameter(name: string, value: number): boolean {
    for (const parameter of this.legato.parameters) {  // a loop, not find(): no closure per call
      if (parameter.name !== name) continue;
      this.module.HEAPF32[parameter.valuePointer >> 2] = value;
      return this.module._legato_handler_set_parameter(this.legato.handler, parameter.namePointer,
                                                       parameter.valuePointer, 1) === 0;
    }
    return false;
  }

  /** [audio thread] One quantum: `input` channels (128 frames each; missing channels are
   *  silence, a mono input feeds every channel) through the handler into `output` channels. */
  processLegato(input: readonly Float32Array[], output: readonly Float32Array[]): void {
    const { blockSize, inputChannels, outputChannels } = this.legato;
    for (let c = 0; c < inputChannels; ++c) {
      const source = input[c] ?? (c > 0 && input.length === 1 ? input[0] : undefined);
      if (source) this.inputBlock[c].set(source, this.offset);
      else this.inputBlock[c].fill(0, this.offset, this.offset + quantum);
    }
    if (this.offset + quantum === blockSize)
      this.module._legato_handler_process_planar(this.legato.handler, this.legato.input, inputChannels,
                                                 this.legato.output, outputChannels, blockSize, blockSize);
    // The block just processed plays from its first quantum on; before the first block, silence.
    const play = (this.offset + quantum) % blockSize;
    for (let c = 0; c < output.length; ++c)  // a loop: no closure or view per quantum
      output[c].set(this.outputQuanta[Math.min(c, outputChannels - 1)][play / quantum]);
    this.offset = play;
  }

  /** [audio thread] The default: the first input through the handler to the first output. */
  process(inputs: Float32Array[][], outputs: Float32Array[][], _parameters: Record<string, Float32Array>): boolean {
    this.processLegato(inputs[0] ?? [], outputs[0] ?? []);
    return true;
  }
}
