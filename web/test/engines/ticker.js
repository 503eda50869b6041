// A JavaScript engine with a timer of its own: process() writes how often the timer has fired
// so far (the test reads it from the output). Shows whether an idle worker's event loop runs.
export class Ticker {
  ticks = 0;
  init() { this.timer = setInterval(() => { ++this.ticks; }, 1); }
  process(_inputs, outputs) { outputs[0].fill(this.ticks); }
  dispose() { clearInterval(this.timer); }
}
