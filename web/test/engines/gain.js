// JavaScript engines for the web tests (JsEngine in web/src/engine.ts).

/** out = gain * in, element by element (exact in float32 for gain 0.5). */
export class Gain {
  constructor(options) { this.gain = options.gain ?? 0.5; this.options = options; }
  init(setup) { this.setup = setup; }
  process(inputs, outputs) {
    const x = inputs[0];
    const y = outputs[0];
    for (let n = 0; n < y.length; ++n) y[n] = this.gain * x[n];
  }
}

/** Gain, resolved a macrotask later (an async engine). */
export class AsyncGain extends Gain {
  async process(inputs, outputs) {
    await new Promise((resolve) => setTimeout(resolve, 0));
    super.process(inputs, outputs);
  }
}

/** Gain that busy-waits `ms` on every `every`-th inference (a stalling engine). */
export class StallingGain extends Gain {
  calls = 0;
  process(inputs, outputs) {
    if (++this.calls % this.options.every === 0) {
      const until = performance.now() + this.options.ms;
      while (performance.now() < until);
    }
    super.process(inputs, outputs);
  }
}

/** A one-pole filter keeping its state across inferences: y[n] = x[n] + 0.5 y[n-1]. */
export class OnePole {
  y = 0;
  init(setup) { if (!setup.stateful) throw new Error("OnePole needs a stateful handler"); }
  process(inputs, outputs) {
    const x = inputs[0];
    const out = outputs[0];
    for (let n = 0; n < out.length; ++n) out[n] = this.y = Math.fround(x[n] + 0.5 * this.y);
  }
  reset() { this.y = 0; }
}

/** An engine whose model cannot load. */
export class Refusing {
  init() { throw new Error("no weights in options"); }
  process() {}
}

/** Pre/post-processing (JsProcessor): doubles the window into the tensor, quarters it back. */
export class DoubleQuarter {
  preProcess(windows, tensors) {
    const w = windows.samples(0, 0);
    const t = tensors[0];
    for (let n = 0; n < t.length; ++n) t[n] = 2 * w[n];
  }
  postProcess(tensors, hops) {
    const t = tensors[0];
    const h = hops.samples(0, 0);
    for (let n = 0; n < h.length; ++n) h[n] = 0.25 * t[n];
  }
}

/** Gain, except that an async run whose window starts with 123 rejects (a failing engine). */
export class FailsOnMarker extends Gain {
  async process(inputs, outputs) {
    if (inputs[0][0] === 123) throw new Error("marker hop refused");
    super.process(inputs, outputs);
  }
}
