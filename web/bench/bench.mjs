// The web benchmark (npm run bench; scripts/bench.mjs drives it in headless Chromium and prints
// the table). Sets window.legatoBench = {rows, error?}: each row {name, median, p99, unit, n}.
import { createNativeNode, Legato } from "../dist/index.js";

const rows = [];
const stats = (name, values, unit, scale = 1) => {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] * scale;
  const row = { name, median: at(0.5), p99: at(0.99), mean: sorted.reduce((a, b) => a + b, 0) / sorted.length * scale,
                unit, n: sorted.length };
  rows.push(row);
  return row;
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

/**
 * The in-worklet native engine (createNativeNode, no shared memory): ns per sample inside the
 * worklet for the staged models of issue 15's targets. Each round renders 1 s of signal through
 * an OfflineAudioContext with the node and without it (back-to-back quanta on the rendering
 * thread, timed from the main thread: the worklet has no clock finer than 1 ms) and gives
 * (with - without) / samples. The row names carry "native-model:<benchmark name>" for
 * scripts/bench.mjs, which adds the ratio to the native build.
 */
async function nativeInWorklet() {
  if (!(await fetch("/native-models/cases.json")).ok) {
    rows.push({ name: "in-worklet native engine: skipped (no /native-models/: set LEGATO_NATIVE_MODELS)", unit: "", n: 0 });
    return;
  }
  const rate = 48000;
  const input = new Float32Array(rate);
  for (let n = 0; n < input.length; ++n) input[n] = 0.4 * Math.sin(n * 0.01) + 0.1 * Math.sin(n * 0.37);
  const simd128 = String(new URL("../dist/legato-native.wasm", import.meta.url));
  const render = async (model, wasmUrl = undefined) => {
    const context = new OfflineAudioContext(1, input.length, rate);
    const buffer = context.createBuffer(1, input.length, rate);
    buffer.copyToChannel(input, 0);
    const source = new AudioBufferSourceNode(context, { buffer });
    const node = model ? await createNativeNode(context, { model, wasmUrl }) : undefined;
    if (node) source.connect(node.node).connect(context.destination);
    else source.connect(context.destination);
    source.start();
    const started = performance.now();
    await context.startRendering();
    const ms = performance.now() - started;
    node?.dispose();
    return ms;
  };
  const models = [
    ["LSTM-40 (rtneural-lstm40-random)", "rtneural-lstm40-random/lstm40_random_seed40.json", "BM_NativeLstm40/128/1/0"],
    ["GRU-40 (rtneural-gru40-random)", "rtneural-gru40-random/gru40_random_seed41.json", "BM_NativeGru40/128/1/0"],
    ["NAM A1-standard (nam-wavenet-a1-standard)", "nam-wavenet-a1-standard/wavenet_a1_standard.nam", "BM_NativeNamA1Standard/128/1/0"],
  ];
  for (const [label, file, native] of models) {
    const bytes = new Uint8Array(await (await fetch(`/native-models/${file}`)).arrayBuffer());
    await render(bytes);  // warm: the modules compiled, the page's code hot
    await render(bytes, simd128);
    // The module this browser gets by default (relaxed SIMD in Chromium) and the SIMD128 one
    // (browsers without relaxed SIMD), interleaved round by round against the same baseline.
    const ns = [];
    const nsSimd128 = [];
    for (let round = 0; round < 15; ++round) {
      const withNode = await render(bytes);
      const withSimd128 = await render(bytes, simd128);
      const without = await render(undefined);
      ns.push(((withNode - without) * 1e6) / input.length);
      nsSimd128.push(((withSimd128 - without) * 1e6) / input.length);
    }
    const byDefault = stats(`in-worklet native engine, ${label}, quanta of 128 back to back, 1 s renders  native-model:${native}`, ns, "ns");
    const bySimd128 = stats(`in-worklet native engine, ${label}, SIMD128 module (no relaxed SIMD), same renders`, nsSimd128, "ns");
    rows.push({ name: `in-worklet SIMD128 module / default module, ${label} (ratio of medians)`,
                median: bySimd128.median / byDefault.median, unit: "x", n: 1 });
  }
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

  // The JavaScript-engine bridge alone: offline round trips per hop (hop 256) through a C++
  // bypass (main -> pool thread -> main) and through a synchronous JavaScript gain (main -> JS
  // worker -> main: the worker claims the request itself), rounds alternating.
  {
    const gain = { engine: "js", name: "gain", module: new URL("../test/engines/gain.js", import.meta.url).href, export: "Gain" };
    const config = (engine) => ({ ...bypass(256), engines: [engine] });
    const viaCpp = await legato.createHandler(config({ engine: "bypass" }));
    const viaJs = await legato.createHandler(config(gain));
    for (const h of [viaCpp, viaJs]) h.prepare(48000, 256, { offline: true });
    const x = new Float32Array(256);
    const y = new Float32Array(256);
    const cpp = [];
    const js = [];
    for (let round = 0; round < 6; ++round)
      for (const [h, into] of [[viaCpp, cpp], [viaJs, js]])
        for (let k = 0; k < 400; ++k) {
          const t = performance.now();
          h.process(x, y);
          if (k >= 50) into.push(performance.now() - t);
        }
    stats("bridge: offline round trip per hop, C++ bypass (main -> pool thread -> main)", cpp, "µs", 1000);
    stats("bridge: offline round trip per hop, JS gain (main -> JS worker -> main)", js, "µs", 1000);
    viaCpp.dispose();
    viaJs.dispose();
  }

  // ONNX Runtime Web on nafx-tcn-2blocks at hop 256: through Legato vs directly, side by side:
  // rounds alternate the two (a fresh direct session per round, one handler throughout), so a
  // noisy machine's slow phase hits both; the ratio is of the pooled medians.
  const model = "/shared-models/nafx-tcn-2blocks/steerable-nafx-2_blocks-libtorch-dynamic.onnx";
  if ((await fetch(model, { method: "HEAD" })).ok) {
    const hop = 256;
    const past = 132;
    const rounds = 6;
    const runs = 300;
    const warm = 50;  // per round: JIT and caches
    const config = {
      name: "nafx", engines: [{ engine: "onnxruntime-web", model }],
      inputs: [{ name: "x", shape: [1, 1, -1], hop, past_context: past }],
      outputs: [{ name: "y", shape: [1, 1, -1], hop }],
      max_inference_time_ms: 4, context: { worker_threads: 1 },
    };
    start = performance.now();
    const handler = await legato.createHandler(config);
    handler.prepare(48000, hop, { offline: true });
    rows.push({ name: "start-up: onnxruntime-web nafx handler created + prepared (the worker's first ORT session: ORT loaded and compiled, warm-up)", median: performance.now() - start, unit: "ms", n: 1 });
    // The same through a second module whose JavaScript worker sleeps in Atomics.waitAsync.
    const legatoAsync = await Legato.load({ jsWorkers: 1, workerWait: "async" });
    const handlerAsync = await legatoAsync.createHandler(config);
    handlerAsync.prepare(48000, hop, { offline: true });
    const input = new Float32Array(hop).map((_, n) => Math.sin(n * 0.01) * 0.3);
    const output = new Float32Array(hop);
    const roundTrips = (h, into) => {
      for (let k = 0; k < runs; ++k) {
        const t = performance.now();
        h.process(input, output);  // offline: returns when this hop's inference is done
        if (k >= warm) into.push(performance.now() - t);
      }
    };
    // In a real-time stream: the handler in a node on a real AudioContext (the audio thread
    // submits a hop every 256 / 48000 s; the main thread idle), against the engine called
    // directly in the JS worker at the same pace (the thread sleeping between runs, as a
    // worker's does). The Legato side is the JS worker's time per inference from the
    // statistics (from its claim: pre-processing, the run, post-processing; a mean only), over
    // 2 s of stream after 0.3 s of start-up.
    const streamGapMs = (hop / 48000) * 1000;
    const streamed = { time: 0, count: 0, late: 0 };
    const stream = async () => {
      const h = await legato.createHandler(config);
      h.prepare(48000, 128);
      const context = new AudioContext({ sampleRate: 48000 });
      const source = new OscillatorNode(context, { frequency: 220 });
      const node = await legato.createNode(context, h);
      source.connect(node.node).connect(context.destination);
      source.start();
      await context.resume();
      await wait(300);
      const before = h.statistics();
      await wait(2000);
      const after = h.statistics();
      streamed.time += after.meanInferenceMs * after.inferencesCompleted - before.meanInferenceMs * before.inferencesCompleted;
      streamed.count += after.inferencesCompleted - before.inferencesCompleted;
      streamed.late += after.lateInferences - before.lateInferences;
      await context.close();
      node.dispose();
      h.dispose();
    };
    // Back to back in batches of `batch` hops timed together (each value their mean): the
    // clock's 5 µs steps are a tenth of a run, too coarse for a ratio of single-run medians.
    const batch = 8;
    const batchedTrips = (h, into) => {
      for (let k = 0; k + batch <= runs; k += batch) {
        const t = performance.now();
        for (let j = 0; j < batch; ++j) h.process(input, output);
        if (k >= warm) into.push((performance.now() - t) / batch);
      }
    };
    const directBatched = [];
    const tripsBatched = [];
    const pacedRuns = 320;  // 1.7 s at the stream's pace
    const direct = [];
    const trips = [];
    const tripsAsync = [];
    const directPaced = [];
    for (let round = 0; round < rounds; ++round) {
      const engine = { kind: "onnxruntime-web", options: { model } };
      const times = await legato.benchEngineDirect(engine, [[1, 1, hop + past]], [[1, 1, hop]], runs);
      direct.push(...times.slice(warm));
      roundTrips(handler, trips);
      roundTrips(handlerAsync, tripsAsync);
      const batched = await legato.benchEngineDirect(engine, [[1, 1, hop + past]], [[1, 1, hop]], runs, 0, batch);
      directBatched.push(...batched.slice(Math.ceil(warm / batch)));
      batchedTrips(handler, tripsBatched);
    }
    // The stream rounds after the back-to-back ones: a real-time stream leaves the machine in
    // another state (its worklet thread, a busier JS worker) that back-to-back rounds would see.
    for (let round = 0; round < rounds; ++round) {
      const engine = { kind: "onnxruntime-web", options: { model } };
      directPaced.push(...(await legato.benchEngineDirect(engine, [[1, 1, hop + past]], [[1, 1, hop]], pacedRuns, streamGapMs)).slice(20));
      await stream();
    }
    const median = (values) => [...values].sort((a, b) => a - b)[values.length >> 1];
    const name = "onnxruntime-web nafx-tcn-2blocks hop 256";
    stats(`${name}: session.run called directly in the worker`, direct, "ms");
    stats(`${name}: through Legato, offline process() round trip per hop`, trips, "ms");
    rows.push({ name: `${name}: through Legato / direct (ratio of medians, same rounds)`,
                median: median(trips) / median(direct), unit: "x", n: rounds });
    stats(`${name}: directly, batches of ${batch} runs (each value a batch's mean)`, directBatched, "ms");
    stats(`${name}: through Legato, batches of ${batch} round trips (each value a batch's mean)`, tripsBatched, "ms");
    rows.push({ name: `${name}: batches of ${batch}, through Legato / direct (ratio of medians)`,
                median: median(tripsBatched) / median(directBatched), unit: "x", n: rounds });
    stats(`${name}: through Legato, worker in waitAsync, offline process() round trip`, tripsAsync, "ms");
    rows.push({ name: `${name}: through Legato, worker in waitAsync / direct (ratio of medians)`,
                median: median(tripsAsync) / median(direct), unit: "x", n: rounds });
    const mean = (values) => values.reduce((a, b) => a + b, 0) / values.length;
    stats(`${name}: session.run directly in the worker, one run every ${streamGapMs.toFixed(2)} ms (a stream's pace)`, directPaced, "ms");
    rows.push({ name: `${name}: through Legato in a real-time stream (AudioContext node): JS worker's time per inference`,
                mean: streamed.time / streamed.count, unit: "ms", n: streamed.count });
    rows.push({ name: `${name}: real-time stream, through Legato / direct at the same pace (ratio of means)`,
                mean: streamed.time / streamed.count / mean(directPaced), unit: "x", n: rounds });
    rows.push({ name: `${name}: real-time stream, late inferences`, mean: streamed.late, unit: "", n: streamed.count });
    const s = handler.statistics();
    rows.push({ name: `${name}: through Legato, the JS worker's time per inference (statistics)`,
                mean: s.meanInferenceMs, unit: "ms", n: s.inferencesCompleted });
    handler.dispose();
    handlerAsync.dispose();
  } else {
    rows.push({ name: "onnxruntime-web nafx-tcn-2blocks: skipped (no /shared-models/: set LEGATO_CONFORMANCE_MODELS)", unit: "", n: 0 });
  }
  await nativeInWorklet();
  window.legatoBench = { rows };
} catch (e) {
  window.legatoBench = { rows, error: e && e.stack ? e.stack : String(e) };
}
