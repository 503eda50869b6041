// JavaScript engines of the demo (the JsEngine shape of web/src/engine.ts). They run on
// Legato's inference worker, never on the audio thread. Each reads the newest hop of the first
// input tensor (after any past context) and writes the first output tensor; further outputs
// (an LSTM's state) carry their matching input through, so the same class fits several
// models' tensors.

function carryState(inputs, outputs) {
  for (let k = 1; k < outputs.length; ++k)
    if (inputs[k] && inputs[k].length === outputs[k].length) outputs[k].set(inputs[k]);
}

/** A soft clipper: out = level * tanh(drive * in). */
export class TanhDrive {
  constructor(options) {
    this.drive = options.drive ?? 4;
    this.level = options.level ?? 0.4;
  }
  init() {}
  process(inputs, outputs) {
    const x = inputs[0];
    const y = outputs[0];
    const offset = x.length - y.length;  // past context, oldest first
    for (let n = 0; n < y.length; ++n) y[n] = this.level * Math.tanh(this.drive * x[offset + n]);
    carryState(inputs, outputs);
  }
}

/** out = gain * in. */
export class Gain {
  constructor(options) { this.gain = options.gain ?? 0.5; }
  init() {}
  process(inputs, outputs) {
    const x = inputs[0];
    const y = outputs[0];
    const offset = x.length - y.length;
    for (let n = 0; n < y.length; ++n) y[n] = this.gain * x[offset + n];
    carryState(inputs, outputs);
  }
}
