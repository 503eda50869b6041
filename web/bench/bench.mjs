// The web benchmark (npm run bench; scripts/bench.mjs drives it in headless Chromium and prints
// the table). Sets window.legatoBench = {rows, error?}: each row {name, median, p99, unit, n}.
import { Legato } from "../dist/index.js";

const rows = [];
const stats = (name, values, unit, scale = 1) => {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] * scale;
  rows.push({ name, median: at(0.5), p99: at(0.99), mean: sorted.reduce((a, b) => a + b, 0) / sorted.length * scale,
              unit, n: sorted.length });
};
const bypass = (hop) => ({
  name: "bypass", engines: [{ engine: "bypass" }],
  inputs: [{ name: "in", shape: [1, 1, -1], hop }], outputs: [{ name: "out", shape: [1, 1, -1], hop }],
  max_inference_time_ms: 1, context: { worker_threads: 1 },
});
const wait = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function worklet(legato, calls, quanta) {
  const m = legato.module;
  const handler = await legato.createHandler(bypass(128));
  handler.prepare(48000, 128);
  const context = new AudioContext({ sampleRate: 48000 });
  const run = m._legato_bench_start(m.emscriptenRegisterAudioObject(context), handler.nativeHandle, calls, quanta);
  await context.resume();
  const deadline = performance.now() + 60000;
  while (m._legato_bench_recorded(run) >= 0 && m._legato_bench_recorded(run) < quanta && performance.now() < deadline)
    await wait(50);
  const count = m._legato_bench_recorded(run);
  if (count < quanta) throw new Error(`worklet bench: ${count} of ${quanta} quanta`);
  const means = Array.from(m.HEAPF64.subarray(m._legato_bench_means(run) >> 3, (m._legato_bench_means(run) >> 3) + count));
  await context.close();
  m._legato_bench_destroy(run);
  handler.dispose();
  return means;
}

try {
  let start = performance.now();
  const legato = await Legato.load({ jsWorkers: 1 });
  rows.push({ name: "start-up: module + 4 pool threads + 1 JS worker ready", median: performance.now() - start, unit: "ms", n: 1 });
  const setup = [];
  for (let k = 0; k < 20; ++k) {
    start = performance.now();
    const h = await legato.createHandler(bypass(128));
    h.prepare(48000, 128);
    setup.push(performance.now() - start);
    h.dispose();
  }
  stats("start-up: bypass handler created + prepared", setup, "ms");

  // process() in the worklet, 20000 back-to-back calls per quantum (bypass, hop 128).
  stats("worklet process(), block 128, bypass, back to back (mean of 20000 calls per quantum)",
        await worklet(legato, 20000, 100), "µs", 1000);
  const paced = await worklet(legato, 1, 3000);
  rows.push({ name: "worklet process(), block 128, bypass, one call per quantum in real time (1 ms clock: mean only)",
              mean: paced.reduce((a, b) => a + b, 0) / paced.length * 1000, unit: "µs", n: paced.length });

  // ONNX Runtime Web on nafx-tcn-2blocks at hop 256: through Legato vs directly.
  const model = "/shared-models/nafx-tcn-2blocks/steerable-nafx-2_blocks-libtorch-dynamic.onnx";
  if ((await fetch(model, { method: "HEAD" })).ok) {
    const hop = 256;
    const past = 132;
    const direct = await legato.benchEngineDirect({ kind: "onnxruntime-web", options: { model } },
                                                  [[1, 1, hop + past]], [[1, 1, hop]], 1200);
    stats("onnxruntime-web nafx-tcn-2blocks hop 256: session.run called directly in the worker", direct.slice(200), "ms");
    start = performance.now();
    const handler = await legato.createHandler({
      name: "nafx", engines: [{ engine: "onnxruntime-web", model }],
      inputs: [{ name: "x", shape: [1, 1, -1], hop, past_context: past }],
      outputs: [{ name: "y", shape: [1, 1, -1], hop }],
      max_inference_time_ms: 4, context: { worker_threads: 1 },
    });
    handler.prepare(48000, hop, { offline: true });
    rows.push({ name: "start-up: onnxruntime-web nafx handler created + prepared (ORT init, warm-up)", median: performance.now() - start, unit: "ms", n: 1 });
    const input = new Float32Array(hop).map((_, n) => Math.sin(n * 0.01) * 0.3);
    const output = new Float32Array(hop);
    const trips = [];
    for (let k = 0; k < 1200; ++k) {
      const t = performance.now();
      handler.process(input, output);  // offline: returns when this hop's inference is done
      trips.push(performance.now() - t);
    }
    stats("onnxruntime-web nafx-tcn-2blocks hop 256: through Legato, offline process() round trip per hop", trips.slice(200), "ms");
    const s = handler.statistics();
    rows.push({ name: "onnxruntime-web nafx-tcn-2blocks hop 256: through Legato, pool thread's time per inference (statistics)",
                mean: s.meanInferenceMs, unit: "ms", n: s.inferencesCompleted });
    handler.dispose();
  } else {
    rows.push({ name: "onnxruntime-web nafx-tcn-2blocks: skipped (no /shared-models/: set LEGATO_CONFORMANCE_MODELS)", unit: "", n: 0 });
  }
  window.legatoBench = { rows };
} catch (e) {
  window.legatoBench = { rows, error: e && e.stack ? e.stack : String(e) };
}
