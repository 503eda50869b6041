// The in-worklet native engine (createNativeNode), on a page served WITHOUT the cross-origin
// isolation headers (test/run.mjs opens it under /plain/): no SharedArrayBuffer anywhere.
// Every render goes through an OfflineAudioContext: source -> native node -> destination.
import { createNativeNode } from "../dist/index.js";
import { npy, stagedNativeModels } from "./util.mjs";

const results = [];
const check = (name, ok, detail = "") => results.push({ name, ok: Boolean(ok), detail: String(detail) });
const rate = 48000;

async function bytesOf(url) {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
  return new Uint8Array(await response.arrayBuffer());
}

/** Renders `input` through a native node running `model` (URL or bytes) in a fresh
 *  OfflineAudioContext: {output, ms, node info}. `wasmUrl` picks the module (default: the
 *  package's choice for this browser); `setup(node)` runs before rendering (AudioParams). */
async function render(model, input, { wasmUrl = undefined, setup = () => {} } = {}) {
  const context = new OfflineAudioContext(1, input.length, rate);
  const buffer = context.createBuffer(1, input.length, rate);
  buffer.copyToChannel(input, 0);
  const source = new AudioBufferSourceNode(context, { buffer });
  const node = await createNativeNode(context, { model, wasmUrl });
  setup(node);
  source.connect(node.node).connect(context.destination);
  source.start();
  const started = performance.now();
  const rendered = await context.startRendering();
  const ms = performance.now() - started;
  const info = { format: node.format, description: node.description, kernels: node.kernels, sizes: node.sizes,
                 sizeDescriptions: node.sizeDescriptions };
  node.dispose();
  return { output: rendered.getChannelData(0), ms, info };
}

function maxError(output, reference, from = 0) {
  let worst = 0;
  let at = -1;
  for (let n = from; n < Math.min(output.length, reference.length); ++n) {
    const e = Math.abs(output[n] - reference[n]);
    if (!(e <= worst)) { worst = e; at = n; }  // NaN counts as the worst
  }
  return { worst, at };
}

/** Max error of `output` against `reference` shifted by `shift` samples (output[n] vs
 *  reference[n - shift]). */
function shiftedError(output, reference, shift) {
  let worst = 0;
  for (let n = Math.max(0, shift); n < output.length && n - shift < reference.length; ++n)
    worst = Math.max(worst, Math.abs(output[n] - reference[n - shift]));
  return worst;
}

check("the page is not cross-origin isolated (no SharedArrayBuffer)",
      !globalThis.crossOriginIsolated && typeof SharedArrayBuffer === "undefined",
      `crossOriginIsolated ${globalThis.crossOriginIsolated}`);

const stream = (await npy("/repo/models/stream_mono.npy")).data;

// The project's own models against their references: PyTorch for the RTNeural JSON files
// (models/make_native.py), the native x86 build for the NAM files (scripts/native-references.py).
// Aligned at shift 0 and not at +-1: zero added latency.
const own = [
  { model: "/repo/models/native/lstm.json", reference: "/repo/models/native/lstm.out.npy", by: "PyTorch" },
  { model: "/repo/models/native/gru.json", reference: "/repo/models/native/gru.out.npy", by: "PyTorch" },
  { model: "/repo/models/native/conv.json", reference: "/repo/models/native/conv.out.npy", by: "PyTorch" },
  { model: "/repo/models/native/lstm.nam", reference: "./native/lstm.nam.native.npy", by: "the native build" },
  { model: "/repo/models/native/wavenet.nam", reference: "./native/wavenet.nam.native.npy", by: "the native build" },
];
// Both in-worklet modules: the default here (Chromium has relaxed SIMD: the fused multiply-add
// build) and the SIMD128 one that browsers without relaxed SIMD (Safari) get.
const simd128 = String(new URL("../dist/legato-native.wasm", import.meta.url));
const kernelsSeen = [];
for (const [{ model, reference, by }, wasmUrl] of own.flatMap((m) => [[m, undefined], [m, simd128]])) {
  const name = `${model.split("/").pop()}${wasmUrl ? " (SIMD128 module)" : ""}`;
  try {
    const expected = (await npy(reference)).data;
    const { output, info } = await render(model, stream, { wasmUrl });
    kernelsSeen.push(`${wasmUrl ? "simd128" : "default"}: ${info.kernels}`);
    const { worst, at } = maxError(output, expected);
    const early = shiftedError(output, expected, -1);
    const late = shiftedError(output, expected, 1);
    console.log(`native in-worklet ${name}: max error ${worst.toExponential(2)} vs ${by} ` +
                `(shifted by -1: ${early.toExponential(2)}, +1: ${late.toExponential(2)}); ${info.kernels}`);
    check(`in-worklet ${name} matches ${by} within 1e-4 at zero latency (max error ${worst.toExponential(2)})`,
          worst <= 1e-4 && early > 10 * worst && late > 10 * worst,
          `max error ${worst} at ${at}; shifted -1: ${early}, +1: ${late}`);
  } catch (e) {
    check(`in-worklet ${name} matches ${by}`, false, e.message);
  }
}

{
  const defaults = new Set(kernelsSeen.filter((k) => k.startsWith("default")));
  const plain = new Set(kernelsSeen.filter((k) => k.startsWith("simd128")));
  check("Chromium gets the relaxed-SIMD module by default, wasmUrl picks the SIMD128 one",
        defaults.size === 1 && /relaxed/.test([...defaults][0]) && plain.size === 1 && !/relaxed/.test([...plain][0]),
        [...defaults, ...plain].join("; "));
}

// Zero added latency, sample-exact: an impulse at frame k changes the output first at frame k
// (not before, not after), for k on and off quantum boundaries. conv.json has a finite
// receptive field (13 frames): once that has filled with silence, its response must be the same
// bits wherever the impulse falls (on any phase of the quantum).
{
  const length = 4 * 1024;
  const frames = [0, 1, 127, 128, 1000, 3001];
  const impulseAt = (k) => { const x = new Float32Array(length); x[k] = 0.5; return x; };
  for (const model of ["/repo/models/native/conv.json", "/repo/models/native/lstm.json", "/repo/models/native/wavenet.nam"]) {
    const name = model.split("/").pop();
    const silence = (await render(model, new Float32Array(length))).output;
    const at127 = (await render(model, impulseAt(127))).output;
    const wrong = [];
    for (const k of frames) {
      const { output } = await render(model, impulseAt(k));
      let first = -1;
      for (let n = 0; n < length && first < 0; ++n) if (output[n] !== silence[n]) first = n;
      if (first !== k) wrong.push(`impulse at ${k}: output changes first at ${first}`);
      if (name === "conv.json" && k >= 13)
        for (let m = 0; m + 3001 < length; ++m)
          if (output[k + m] !== at127[127 + m]) { wrong.push(`impulse at ${k}: response differs at +${m}`); break; }
    }
    check(`zero added latency (${name}): an impulse at frame k changes the output first at k, k in ${frames.join(", ")}` +
          (name === "conv.json" ? ", the same response bits at every k >= 13" : ""), wrong.length === 0, wrong.join("; "));
  }
}

// Switching models while playing (NativeWorkletNode.load()), offline so it is exact: the render
// suspends at frame 4096, where a corrupt file and a file of the wrong format are refused (the
// first model keeps playing), and at frame 8192, where wavenet.nam replaces lstm.json. Every
// sample before the reported switch frame must be lstm.json's offline rendering, every sample
// from it wavenet.nam's rendering of the input from that frame on, from its loaded state.
{
  const length = 16384;
  const input = new Float32Array(length);
  for (let n = 0; n < length; ++n) input[n] = 0.5 * Math.sin(n * 0.013) * Math.sin(n * 0.0007) + 0.05 * Math.sin(n * 0.29);
  const first = "/repo/models/native/lstm.json";
  const second = "/repo/models/native/wavenet.nam";
  const context = new OfflineAudioContext(1, length, rate);
  const buffer = context.createBuffer(1, length, rate);
  buffer.copyToChannel(input, 0);
  const source = new AudioBufferSourceNode(context, { buffer });
  const node = await createNativeNode(context, { model: first });
  source.connect(node.node).connect(context.destination);
  source.start();
  const refused = [];
  let switched = null;
  context.suspend(4096 / rate).then(async () => {
    try {
      await node.load((await bytesOf(second)).slice(0, 200));
      refused.push("a truncated .nam loaded");
    } catch (e) {
      if (!e.message.startsWith("<200 bytes in memory>: not a native model")) refused.push(`truncated: ${e.message}`);
    }
    try {
      await node.load(second, { format: "rtneural" });
      refused.push("format: 'rtneural' took a .nam");
    } catch (e) {
      if (!e.message.includes("the file is nam")) refused.push(`format: ${e.message}`);
    }
    context.resume();
  });
  context.suspend(8192 / rate).then(async () => {
    try {
      switched = await node.load(second);
    } catch (e) {
      refused.push(`the switch failed: ${e.message}`);
    }
    context.resume();
  });
  const output = (await context.startRendering()).getChannelData(0);
  const described = node.format;
  node.dispose();
  const before = (await render(first, input)).output;
  const at = Math.min(switched?.frame ?? 8192, length - 128);  // a wrong frame fails below
  const after = (await render(second, input.subarray(at))).output;
  let worstBefore = 0;
  let worstAfter = 0;
  for (let n = 0; n < at; ++n) worstBefore = Math.max(worstBefore, Math.abs(output[n] - before[n]) || (output[n] === before[n] ? 0 : Infinity));
  for (let n = at; n < length; ++n) worstAfter = Math.max(worstAfter, Math.abs(output[n] - after[n - at]) || (output[n] === after[n - at] ? 0 : Infinity));
  console.log(`native in-worklet switch lstm.json -> wavenet.nam at frame ${switched?.frame}: max difference ` +
              `${worstBefore} before (vs lstm.json alone), ${worstAfter} after (vs wavenet.nam from that frame)`);
  check("load() refuses a corrupt file and a wrong format with the native message, the old model playing on",
        refused.length === 0, refused.join("; "));
  check(`load() switches lstm.json -> wavenet.nam at a quantum boundary (frame ${switched?.frame}): ` +
        "the same bits as each model alone, before and after, no gap",
        switched?.frame === 8192 && worstBefore === 0 && worstAfter === 0 && described === "nam",
        `frame ${switched?.frame}, before ${worstBefore}, after ${worstAfter}, format ${described}`);
}

// The gains (AudioParams, linear, a-rate): inputGain 0.5 throughout, outputGain stepped from 1
// to 2 at frame 5000 (mid-quantum). The output must be the model's rendering of 0.5 x, times 1
// before the step and 2 from it: the same bits (both gains are powers of two).
{
  const length = 8192;
  const model = "/repo/models/native/lstm.json";
  const input = stream.subarray(0, length);
  const half = input.map((x) => 0.5 * x);
  const { output } = await render(model, input, { setup: (node) => {
    node.inputGain.value = 0.5;
    node.outputGain.setValueAtTime(2, 5000 / rate);
  } });
  const plain = (await render(model, half)).output;
  let step = -1;
  const wrong = [];
  for (let n = 0; n < length && wrong.length < 3; ++n) {
    if (step < 0 && output[n] !== plain[n] && output[n] === 2 * plain[n]) step = n;
    const expected = step >= 0 ? 2 * plain[n] : plain[n];
    if (output[n] !== expected) wrong.push(`frame ${n}: ${output[n]} vs ${expected}`);
  }
  check(`inputGain 0.5 and outputGain 1 -> 2 at frame 5000 (a-rate; applied at ${step}): model(0.5 x) x gain, same bits`,
        wrong.length === 0 && Math.abs(step - 5000) <= 1, `step at ${step}; ${wrong.join("; ")}`);
}

// The slimmable size (AudioParam, k-rate): models/native/slimmable.nam at size 0 from frame 0,
// 0.45 from frame 2560 and 1 from 5120. Each stretch must be the same bits as the plain file of
// that size (models/make_slimmable.py slices the named tensors; the engine slims the weight
// list) run alone, from its loaded state, on the input from the stretch's first frame.
{
  const length = 8192;
  const input = stream.subarray(0, length);
  const { output, info: { sizes, sizeDescriptions, description } } = await render("/repo/models/native/slimmable.nam", input, { setup: (node) => {
    node.slimmableSize.setValueAtTime(0, 0);
    node.slimmableSize.setValueAtTime(0.45, 2560 / rate);
    node.slimmableSize.setValueAtTime(1, 5120 / rate);
  } });
  const stretches = [[0, "slimmable-2-1.nam"], [2560, "slimmable-2-2.nam"], [5120, "slimmable.nam"]];
  const wrong = [];
  let sameAsFull = 0;
  const full = (await render("/repo/models/native/slimmable.nam", input)).output;
  for (let i = 0; i < stretches.length; ++i) {
    const [from, file] = stretches[i];
    const to = i + 1 < stretches.length ? stretches[i + 1][0] : length;
    const alone = (await render(`/repo/models/native/${file}`, input.subarray(from))).output;
    let bad = 0;
    for (let n = from; n < to; ++n) {
      if (output[n] !== alone[n - from]) bad++;
      if (i < 2 && output[n] === full[n]) sameAsFull++;
    }
    if (bad) wrong.push(`${file} from frame ${from}: ${bad} samples differ`);
  }
  console.log(`native in-worklet: slimmableSize 0 -> 0.45 -> 1 at frames 2560, 5120 on slimmable.nam ` +
              `(sizes ${sizes.map((x) => x.toFixed(3)).join(", ")}): ${wrong.length ? wrong.join("; ") : "the same bits as each size alone"}`);
  check("the model reports where its sizes change: [0, 1/3, 1/2, 2/3]",
        sizes.length === 4 && sizes[0] === 0 && sizes[1] === 1 / 3 && sizes[2] === 0.5 && sizes[3] === 2 / 3,
        sizes.join(", "));
  // models/make_slimmable.py: array 1 allows 2 or 4 channels, array 2 allows 1, 2 or 3.
  const expectChannels = ["channels 2, 1", "channels 2, 2", "channels 4, 2", "full size"];
  check("each size range's model is described with its channels; `description` is the full size's",
        sizeDescriptions.length === 4 && sizeDescriptions.every((text, i) => text.includes(expectChannels[i])) &&
        description === sizeDescriptions[3], sizeDescriptions.join(" | "));
  check("slimmableSize 0 -> 0.45 -> 1 at quantum boundaries: each stretch the same bits as the plain file of " +
        "that size alone, from its loaded state; the slim stretches differ from the full model",
        wrong.length === 0 && sameAsFull < 100, `${wrong.join("; ")}; ${sameAsFull} slim samples equal to the full model's`);

  // A model with one size ignores the parameter.
  const { output: ignored, info: { sizes: lstmSizes } } = await render(
    "/repo/models/native/lstm.json", stream.subarray(0, 4096), { setup: (node) => { node.slimmableSize.value = 0; } });
  const reference = (await render("/repo/models/native/lstm.json", stream.subarray(0, 4096))).output;
  check("a model with one size (lstm.json) has sizes [0] and ignores slimmableSize",
        lstmSizes.length === 1 && maxError(ignored, reference).worst === 0, `${lstmSizes}; ${maxError(ignored, reference).worst}`);
}

// Loading errors reject in the main thread with the native engine's message.
{
  const context = new OfflineAudioContext(1, 128, rate);
  const nam = JSON.parse(new TextDecoder().decode(await bytesOf("/repo/models/native/lstm.nam")));
  nam.weights = nam.weights.slice(0, -5);
  const truncated = new TextEncoder().encode(JSON.stringify(nam));
  const expected = `<${truncated.length} bytes in memory>: weights: LSTM layer 0 (initial cell state) needs 2 more weights, the file has 0 left`;
  try {
    await createNativeNode(context, { model: truncated });
    check("a .nam with missing weights is refused", false, "it loaded");
  } catch (e) {
    check("a .nam with missing weights rejects with the native message", e.message === expected,
          `got "${e.message}", expected "${expected}"`);
  }
  const garbage = (await bytesOf("/repo/models/native/lstm.nam")).slice(0, 300);
  try {
    await createNativeNode(context, { model: garbage });
    check("a truncated .nam is refused", false, "it loaded");
  } catch (e) {
    check("a truncated .nam (not JSON) rejects with the native message",
          e.message.startsWith("<300 bytes in memory>: not a native model: not JSON"), e.message);
  }
  const rtneural = JSON.parse(new TextDecoder().decode(await bytesOf("/repo/models/native/lstm.json")));
  rtneural.layers[0].weights[1].pop();  // the recurrent kernel loses a row
  try {
    await createNativeNode(context, { model: new TextEncoder().encode(JSON.stringify(rtneural)) });
    check("an RTNeural JSON with a wrong shape is refused", false, "it loaded");
  } catch (e) {
    check("an RTNeural JSON with a wrong shape rejects with the native message naming the layer",
          /^<\d+ bytes in memory>: layers\[0\] \(lstm\): weights\[1\]/.test(e.message), e.message);
  }
  try {
    await createNativeNode(context, { model: "/repo/models/native/lstm.json", format: "nam" });
    check("format: 'nam' refuses an RTNeural file", false, "it loaded");
  } catch (e) {
    check("format: 'nam' refuses an RTNeural file", e.message.includes("the file is rtneural-json"), e.message);
  }
}

// 200 load/dispose cycles in one context leave the worklet module's heap where it was, and its
// memory never grows.
{
  const context = new OfflineAudioContext(1, 128, rate);
  // Every other cycle a slimmable WaveNet: four models (one per size) made and freed at once.
  const models = [await bytesOf("/repo/models/native/lstm.json"), await bytesOf("/repo/models/native/slimmable.nam")];
  let cycles = 0;
  const cycle = async () => {
    const node = await createNativeNode(context, { model: models[cycles++ % 2] });
    node.dispose();
    return node.freed;
  };
  const first = await cycle();
  let last = first;
  let memoryChanged = false;
  const started = performance.now();
  for (let k = 0; k < 200; ++k) {
    last = await cycle();
    memoryChanged ||= last.memoryBytes !== first.memoryBytes;
  }
  const ms = performance.now() - started;
  console.log(`native in-worklet: 200 load/dispose cycles of lstm.json and slimmable.nam in ${ms.toFixed(0)} ms; heap in use ` +
              `${first.heapInUse} -> ${last.heapInUse} bytes, memory ${last.memoryBytes} bytes`);
  check(`200 load/dispose cycles: the worklet heap stays at its baseline (${first.heapInUse} -> ${last.heapInUse} bytes), memory fixed`,
        last.heapInUse === first.heapInUse && !memoryChanged, `${first.heapInUse} -> ${last.heapInUse}, memory changed: ${memoryChanged}`);
}

// The staged upstream models ($LEGATO_NATIVE_MODELS, served under /native-models/): every
// case the native engine runs, within the case's tolerance; cases it refuses are refused here.
{
  const staged = await stagedNativeModels("native in-worklet");
  if (staged) {
    const { cases, url } = staged;
    const inputs = new Map();
    for (const c of cases) {
      if (c.format !== "rtneural-json" && c.format !== "nam") continue;
      const model = url(`${c.folder}/${c.model}`);
      if (c.inputs !== 1 || c.outputs !== 1) {
        try {
          await render(model, new Float32Array(128));
          check(`staged ${c.name} (${c.inputs} in, ${c.outputs} out) is refused`, false, "it loaded");
        } catch (e) {
          check(`staged ${c.name} (${c.inputs} in, ${c.outputs} out) is refused, as natively`, true, e.message);
        }
        continue;
      }
      try {
        if (!inputs.has(c.stream_input)) inputs.set(c.stream_input, (await npy(url(c.stream_input))).data);
        const input = inputs.get(c.stream_input);
        const reference = (await npy(url(c.stream_output))).data;
        // Both modules: the default (relaxed SIMD in Chromium) and the SIMD128 one.
        for (const wasmUrl of [undefined, simd128]) {
          const { output, ms } = await render(model, input, { wasmUrl });
          const { worst, at } = maxError(output, reference);
          const which = wasmUrl ? "SIMD128 module" : "default module";
          console.log(`native in-worklet staged ${c.name} (${which}): max error ${worst.toExponential(2)} ` +
                      `(tolerance ${c.tolerance_abs}), ${input.length} samples in ${ms.toFixed(0)} ms`);
          check(`staged ${c.name} (${which}) within ${c.tolerance_abs} (max error ${worst.toExponential(2)})`,
                worst <= c.tolerance_abs, `max error ${worst} at ${at}`);
        }
      } catch (e) {
        check(`staged ${c.name}`, false, e.message);
      }
    }
  }
}

// Speed: npm run bench (bench/bench.mjs, "in-worklet native engine" rows), not a test.

window.legatoTestResults = results;
