// createModelNode(): one API, two modes. test/run.mjs opens this page twice: cross-origin
// isolated (/test/choose.html: the pool is possible, "auto" measures the model against the
// budget) and not (/plain/test/choose.html: "auto" takes the worklet, "pool" is an error naming
// the headers). Outputs are checked against the project's references (models/make_native.py:
// PyTorch; scripts/native-references.py: the native x86 build) at the node's latency.
import { createModelNode, renderOffline } from "../dist/index.js";
import { npy } from "./util.mjs";

const results = [];
const check = (name, ok, detail = "") => results.push({ name, ok: Boolean(ok), detail: String(detail) });
const rate = 48000;
const isolated = Boolean(globalThis.crossOriginIsolated);
const where = isolated ? "isolated" : "not isolated";
const stream = (await npy("/repo/models/stream_mono.npy")).data;

/** Renders `stream` through createModelNode(options) in an OfflineAudioContext (with
 *  renderOffline on the pool): {node, output}; the node is disposed. */
async function render(options, length = stream.length) {
  const context = new OfflineAudioContext(1, length, rate);
  const buffer = context.createBuffer(1, length, rate);
  buffer.copyToChannel(stream.subarray(0, length), 0);
  const source = new AudioBufferSourceNode(context, { buffer });
  const node = await createModelNode(context, options);
  source.connect(node.node).connect(context.destination);
  source.start();
  const rendered = node.mode === "pool" ? await renderOffline(context, [node.handler])
                                        : await context.startRendering();
  const stats = node.handler?.statistics();
  node.dispose();
  return { node, stats, output: rendered.getChannelData(0) };
}

/** Max |output[n] - reference[n - latency]| over the rendered part. */
function errorAt(output, reference, latency) {
  let worst = 0;
  for (let n = latency; n < output.length && n - latency < reference.length; ++n) {
    const e = Math.abs(output[n] - reference[n - latency]);
    if (!(e <= worst)) worst = e;  // NaN counts as the worst
  }
  return worst;
}

async function rejection(promise) {
  try {
    await promise;
    return "(it resolved)";
  } catch (e) {
    return e.message;
  }
}

const lstm = { model: "/repo/models/native/lstm.json", reference: (await npy("/repo/models/native/lstm.out.npy")).data };

// "auto": the worklet when the page has no shared memory; when it has, a model this small fits.
{
  const { node, output } = await render({ model: lstm.model });
  const error = errorAt(output, lstm.reference, 0);
  const expected = isolated ? /^fits the worklet: [0-9.]+ µs per quantum, budget 666\.7 µs$/ : /not cross-origin isolated/;
  console.log(`createModelNode ${where}, auto, lstm.json: ${node.mode} (${node.choice.reason}), max error ${error.toExponential(2)}`);
  check(`${where}: "auto" runs lstm.json in the worklet (${node.choice.reason}) at zero latency, within 1e-4 of PyTorch (${error.toExponential(2)})`,
        node.mode === "worklet" && node.latency === 0 && expected.test(node.choice.reason) && error <= 1e-4 &&
          (isolated ? node.choice.quantumCostMs > 0 && node.choice.quantumCostMs <= node.choice.budgetMs : node.choice.quantumCostMs === undefined),
        `${node.mode}, latency ${node.latency}, "${node.choice.reason}", error ${error}`);
}

// Bad options are errors, whatever the page.
{
  const mode = await rejection(createModelNode(new OfflineAudioContext(1, 128, rate), { model: lstm.model, mode: "gpu" }));
  const budget = await rejection(createModelNode(new OfflineAudioContext(1, 128, rate), { model: lstm.model, budget: 0 }));
  check(`${where}: a bad mode or budget is refused naming it`,
        mode.includes('mode must be "auto", "worklet" or "pool", got gpu') && budget.includes("budget must be above 0"),
        `${mode} / ${budget}`);
}

if (!isolated) {
  const message = await rejection(createModelNode(new OfflineAudioContext(1, 128, rate), { model: lstm.model, mode: "pool" }));
  check('not isolated: mode "pool" is refused naming the COOP and COEP headers',
        message.includes("Cross-Origin-Opener-Policy: same-origin") && message.includes("Cross-Origin-Embedder-Policy: require-corp"),
        message);
} else {
  // A budget nothing fits sends "auto" to the pool: same output, delayed by the reported latency.
  {
    const { node, stats, output } = await render({ model: lstm.model, budget: 1e-6 });
    const error = errorAt(output, lstm.reference, node.latency);
    const shifted = errorAt(output, lstm.reference, node.latency + 1);
    console.log(`createModelNode isolated, auto, budget 1e-6: ${node.mode} (${node.choice.reason}), latency ${node.latency}, ` +
                `max error ${error.toExponential(2)} (one sample later: ${shifted.toExponential(2)})`);
    check(`isolated: "auto" over budget runs lstm.json on the pool (${node.choice.reason}), exactly latency ${node.latency} late, ` +
          `within 1e-4 of PyTorch (${error.toExponential(2)})`,
          node.mode === "pool" && /^too slow for the worklet: /.test(node.choice.reason) && node.latency > 0 &&
            error <= 1e-4 && shifted > 1e-3 && stats.lateInferences === 0,
          `${node.mode}, latency ${node.latency}, error ${error}, shifted ${shifted}, late ${stats.lateInferences}`);
  }
  // "pool" by request, a NAM WaveNet, a hop of 256: the native build's output at the latency.
  {
    const reference = (await npy("./native/wavenet.nam.native.npy")).data;
    const { node, output } = await render({ model: "/repo/models/native/wavenet.nam", mode: "pool", hop: 256, format: "nam" });
    const error = errorAt(output, reference, node.latency);
    console.log(`createModelNode isolated, pool, wavenet.nam: latency ${node.latency}, max error ${error.toExponential(2)}`);
    check(`isolated: mode "pool" runs wavenet.nam (hop 256) within 1e-4 of the native build at latency ${node.latency} (${error.toExponential(2)})`,
          node.mode === "pool" && node.choice.reason === "asked for the pool" && node.latency >= 256 && error <= 1e-4,
          `${node.mode}, latency ${node.latency}, error ${error}`);
  }
  // Errors on the pool: the native engine's message, and the format check as in the worklet.
  {
    const nam = await (await fetch("/repo/models/native/lstm.nam")).json();
    nam.weights = nam.weights.slice(0, -5);
    const truncated = new TextEncoder().encode(JSON.stringify(nam));
    const native = "weights: LSTM layer 0 (initial cell state) needs 2 more weights, the file has 0 left";
    const corrupt = await rejection(createModelNode(new OfflineAudioContext(1, 128, rate), { model: truncated, mode: "pool" }));
    const format = await rejection(createModelNode(new OfflineAudioContext(1, 128, rate),
                                                   { model: "/repo/models/native/lstm.nam", mode: "pool", format: "rtneural" }));
    check("isolated: on the pool a .nam with missing weights rejects with the native message, a wrong format is refused",
          corrupt.includes(native) && format.includes("the file is nam"), `${corrupt} / ${format}`);
  }
}

window.legatoTestResults = results;
