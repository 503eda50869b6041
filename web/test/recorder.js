// Test helper (plain AudioWorklet): posts each quantum of its two inputs (channel 0) to the
// main thread, with the frame it belongs to: input 0 the source, input 1 what Legato made of it.
class Recorder extends AudioWorkletProcessor {
  process(inputs) {
    const take = (input) => (input.length > 0 ? input[0].slice() : new Float32Array(128));
    this.port.postMessage({ frame: currentFrame, source: take(inputs[0]), output: take(inputs[1]) });
    return true;
  }
}
registerProcessor("legato-test-recorder", Recorder);
