// Legato.load() options, on a page of their own (each load() instantiates a module of its
// own). memoryMiB: the module's memory is sized by the app, fixed for the module's life, and a
// full heap is a clear Error naming the option (never a crash). workerWait: both ways a
// JavaScript inference worker sleeps run a JavaScript engine exactly.
import { Legato } from "../dist/index.js";

const results = [];
function check(name, ok, detail = "") {
  results.push({ name, ok: Boolean(ok), detail: String(detail) });
}

const bypass = {
  name: "bypass",
  engines: [{ engine: "bypass" }],
  inputs: [{ name: "in", shape: [1, 1, -1], hop: 64 }],
  outputs: [{ name: "out", shape: [1, 1, -1], hop: 64 }],
  max_inference_time_ms: 1,
};

async function refused(options) {
  try {
    await Legato.load(options);
    return "loaded";
  } catch (e) {
    return e.message;
  }
}

try {
  for (const memoryMiB of [8, 4096, 20.5]) {
    const message = await refused({ memoryMiB, jsWorkers: 0 });
    check(`memoryMiB ${memoryMiB} is refused naming the option`, /memoryMiB must be .* 16 to 2048/.test(message), message);
  }

  // A block of 1M frames: its rings and buffers (tens of MiB) do not fit in 16 MiB.
  const hugeBlock = 1 << 20;
  const small = await Legato.load({ memoryMiB: 16, jsWorkers: 0 });
  check("memoryMiB 16: the module's memory is 16 MiB", small.memoryBytes === 16 << 20, small.memoryBytes);
  const context = small.createContext({ workers: 1 });
  const baseline = small.heapInUse();
  {
    const handler = await small.createHandler(bypass, { context });
    let message = "prepared";
    try {
      handler.prepare(48000, hugeBlock, { offline: true });
    } catch (e) {
      message = e.message;
    }
    check("a handler that does not fit: prepare() throws 'out of memory' naming memoryMiB",
          /out of memory.*the module's 16 MiB heap.*Legato\.load\(\{ memoryMiB \}\)/.test(message), message);
    handler.dispose();
  }
  {
    // The module is still whole: a normal handler runs exactly after the failure.
    const handler = await small.createHandler(bypass, { context });
    handler.prepare(48000, 128, { offline: true });
    const input = new Float32Array(128 * 40).map((_, n) => Math.sin(n * 0.03));
    const output = new Float32Array(input.length);
    for (let at = 0; at < input.length; at += 128)
      handler.process(input.subarray(at, at + 128), output.subarray(at, at + 128));
    const latency = handler.latency;
    let wrong = 0;
    for (let n = 0; n < input.length; ++n) if (output[n] !== (n >= latency ? input[n - latency] : 0)) ++wrong;
    check("after the failure the same module still runs a handler exactly", wrong === 0, `${wrong} samples differ`);
    handler.dispose();
  }
  const growth = small.heapInUse() - baseline;
  check("the failed prepare() left no memory behind", Math.abs(growth) < 4096, `${growth} bytes`);
  context.dispose();

  const large = await Legato.load({ memoryMiB: 128, jsWorkers: 0 });
  check("memoryMiB 128: the module's memory is 128 MiB", large.memoryBytes === 128 << 20, large.memoryBytes);
  {
    const largeContext = large.createContext({ workers: 1 });
    const handler = await large.createHandler(bypass, { context: largeContext });
    let message = "prepared";
    try {
      handler.prepare(48000, hugeBlock, { offline: true });
    } catch (e) {
      message = e.message;
    }
    check("with 128 MiB the same 1M-frame handler prepares", message === "prepared", message);
    handler.dispose();
    largeContext.dispose();
  }

  const message = await refused({ workerWait: "spin", jsWorkers: 1 });
  check("workerWait \"spin\" is refused naming the option", /workerWait must be "blocking" or "async"/.test(message), message);
  for (const workerWait of ["blocking", "async"]) {
    const legato = await Legato.load({ jsWorkers: 1, workerWait, memoryMiB: 16 });
    const context = legato.createContext({ workers: 1 });
    const handler = await legato.createHandler({
      ...bypass, engines: [{ engine: "js", name: "gain", module: new URL("./engines/gain.js", import.meta.url).href, export: "Gain" }],
    }, { context });
    handler.prepare(48000, 100, { offline: true });
    const input = new Float32Array(100 * 200).map((_, n) => Math.sin(n * 0.013) * 0.7);
    const output = new Float32Array(input.length);
    for (let at = 0; at < input.length; at += 100)
      handler.process(input.subarray(at, at + 100), output.subarray(at, at + 100));
    const latency = handler.latency;
    let wrong = 0;
    for (let n = 0; n < input.length; ++n)
      if (output[n] !== (n >= latency ? Math.fround(0.5 * input[n - latency]) : 0)) ++wrong;
    // An idle worker still runs the engine's own timers: blocking, once per 10 ms slice at least.
    const ticker = await legato.createHandler({
      ...bypass, engines: [{ engine: "js", name: "ticker", module: new URL("./engines/ticker.js", import.meta.url).href, export: "Ticker" }],
    }, { context });
    ticker.prepare(48000, 64, { offline: true });
    const hop = new Float32Array(64);
    ticker.process(hop, hop);
    await new Promise((resolve) => setTimeout(resolve, 400));
    const ticks = new Float32Array(64);
    for (let k = 0; k * 64 <= ticker.latency; ++k) ticker.process(hop, ticks);
    ticker.dispose();
    handler.dispose();
    context.dispose();
    check(`workerWait "${workerWait}": a JavaScript engine is exactly 0.5 x input delayed by ${latency}`,
          wrong === 0, `${wrong} samples differ`);
    check(`workerWait "${workerWait}": an idle worker's event loop runs the engine's timers (${ticks[63]} ticks in 400 ms)`,
          ticks[63] >= 5, `${ticks[63]} ticks`);
  }
} catch (e) {
  check("load tests ran without an exception", false, e.stack ?? e);
}
window.legatoTestResults = results;
