// Helpers for the web tests.

/** Runs `input` through `handler` in blocks of `block` from the main thread (offline). */
export function offlineRun(handler, input, block) {
  const output = new Float32Array(input.length);
  for (let at = 0; at < input.length; at += block) {
    const count = Math.min(block, input.length - at);
    handler.process(input.subarray(at, at + count), output.subarray(at, at + count));
  }
  return output;
}

/** Deterministic noise in [-0.4, 0.4). */
export function noise(length, seed) {
  const data = new Float32Array(length);
  let state = 0x9e3779b9 ^ seed;
  for (let n = 0; n < length; ++n) {
    state ^= state << 13; state ^= state >>> 17; state ^= state << 5;
    data[n] = ((state >>> 0) / 4294967296 - 0.5) * 0.8;
  }
  return data;
}

/** A little-endian float32 .npy file: {shape, data}. */
export async function npy(url) {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
  const bytes = new Uint8Array(await response.arrayBuffer());
  const headerLength = bytes[8] | (bytes[9] << 8);
  const header = new TextDecoder().decode(bytes.subarray(10, 10 + headerLength));
  if (!header.includes("'<f4'")) throw new Error(`${url}: not little-endian float32`);
  const shape = header.match(/\(([^)]*)\)/)[1].split(",").filter((s) => s.trim()).map(Number);
  const data = new Float32Array(bytes.slice(10 + headerLength).buffer);
  return { shape, data };
}

/** [main thread] Plays `seconds` of noise through `legatoNode` in `context` (a real
 *  AudioContext) and records, quantum by quantum on the context's frame axis, the source and
 *  the node's output: {source, output, length, first, gaps, recorded} (first: the context
 *  frame of index 0; gaps: quanta the recorder missed; recorded(f): frame index f has data).
 *  `onStart(context)` runs just before the source starts. Suspends the context at the end. */
export async function playThrough(context, legatoNode, seconds, onStart = () => {}) {
  const buffer = context.createBuffer(1, seconds * context.sampleRate, context.sampleRate);
  buffer.copyToChannel(noise(buffer.length, 0x1234567), 0);
  const source = new AudioBufferSourceNode(context, { buffer });
  await context.audioWorklet.addModule(new URL("./recorder.js", import.meta.url));
  const recorder = new AudioWorkletNode(context, "legato-test-recorder", { numberOfInputs: 2, numberOfOutputs: 0 });
  const blocks = [];
  recorder.port.onmessage = (event) => blocks.push(event.data);
  source.connect(recorder, 0, 0);
  source.connect(legatoNode.node).connect(recorder, 0, 1);
  legatoNode.node.connect(context.destination);
  await context.resume();
  onStart(context);
  source.start();
  await new Promise((resolve) => setTimeout(resolve, (seconds + 0.5) * 1000));
  await context.suspend();
  const first = blocks.length ? blocks[0].frame : 0;
  const length = blocks.length ? blocks[blocks.length - 1].frame + 128 - first : 0;
  const sourceData = new Float32Array(length);
  const output = new Float32Array(length);
  // Quanta the recorder never saw (the browser skipped its process call) stay unrecorded:
  // `recorded(f)` says whether frame index f holds data.
  const seen = new Uint8Array(Math.ceil(length / 128));
  for (const b of blocks) {
    sourceData.set(b.source, b.frame - first);
    output.set(b.output, b.frame - first);
    seen[(b.frame - first) >> 7] = 1;
  }
  const gaps = seen.length - seen.reduce((a, b) => a + b, 0);
  return { source: sourceData, output, length, first, gaps, recorded: (f) => seen[f >> 7] === 1 };
}

/** Heap growth (bytes) over `count` calls of `cycle` (async: create, prepare, dispose), after one
 *  first call that may create shared things (the process-wide Context's pool). */
export async function heapGrowth(legato, cycle, count = 200) {
  await cycle();
  const before = legato.heapInUse();
  for (let k = 0; k < count; ++k) await cycle();
  return legato.heapInUse() - before;
}

/** One of the project's model configs (models/NAME.json) on ONNX Runtime Web, one pool thread,
 *  an inference bound of 4 ms. */
export async function onnxRuntimeWebConfig(name) {
  const config = await (await fetch(`/repo/models/${name}.json`)).json();
  config.engines = [{ engine: "onnxruntime-web", model: `/repo/models/${name}.onnx` }];
  config.max_inference_time_ms = 4;
  config.context = { worker_threads: 1 };
  return config;
}

/** The staged native models ($LEGATO_NATIVE_MODELS, served under /native-models/): their
 *  cases.json and `url(path)` for a path in it; or null, after saying why they are skipped
 *  (`who` starts the line). */
export async function stagedNativeModels(who) {
  const listing = await fetch("/native-models/cases.json");
  if (!listing.ok) {
    console.log(`${who}: staged models skipped: /native-models/cases.json not found ` +
                "(LEGATO_NATIVE_MODELS or ../shared/models-native beside the repository)");
    return null;
  }
  const url = (path) => (path.startsWith("../") ? `/native-models-up/${path.slice(3)}` : `/native-models/${path}`);
  return { cases: await listing.json(), url };
}
