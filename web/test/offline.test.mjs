// OfflineAudioContext: long renders through Legato nodes, paced by renderOffline() (the worklet
// never waits; the rendering is suspended until the inferences are in). Every sample exact,
// nothing late, whatever the machine's speed.
import { renderOffline } from "../dist/index.js";
import { noise, npy, onnxRuntimeWebConfig } from "./util.mjs";

async function render(legato, handler, input) {
  const context = new OfflineAudioContext(1, input.length, 48000);
  const buffer = context.createBuffer(1, input.length, 48000);
  buffer.copyToChannel(input, 0);
  const source = new AudioBufferSourceNode(context, { buffer });
  const node = await legato.createNode(context, handler);
  source.connect(node.node).connect(context.destination);
  source.start();
  const started = performance.now();
  const rendered = await renderOffline(context, [handler]);
  const ms = performance.now() - started;
  node.dispose();
  return { output: rendered.getChannelData(0), ms };
}

export async function offlineTests(legato, check) {
  // 20 s through a JavaScript engine (0.5 x): exact from the first sample to the last.
  {
    const handler = await legato.createHandler({
      name: "gain", engines: [{ engine: "js", module: "./engines/gain.js", export: "Gain" }],
      inputs: [{ name: "in", shape: [1, 1, -1], hop: 128 }],
      outputs: [{ name: "out", shape: [1, 1, -1], hop: 128 }],
      max_inference_time_ms: 1, context: { worker_threads: 1 },
    });
    handler.prepare(48000, 128);
    const input = noise(20 * 48000, 11);
    const { output, ms } = await render(legato, handler, input);
    const latency = handler.latency;
    let wrong = 0;
    for (let n = 0; n < input.length; ++n)
      if (output[n] !== (n >= latency ? 0.5 * input[n - latency] : 0)) ++wrong;
    const stats = handler.statistics();
    console.log(`offline: 20 s through a JS engine rendered in ${ms.toFixed(0)} ms, latency ${latency}, ` +
                `${stats.lateInferences} late, ${wrong} differing`);
    check(`OfflineAudioContext, 20 s, JavaScript engine: every sample is 0.5 x input delayed by ${latency}`,
          wrong === 0 && stats.lateInferences === 0 && stats.substitutedFrames === 0 &&
            stats.inferencesCompleted >= input.length / 128 - 10,
          `${wrong} differ, ${JSON.stringify(stats)}`);
    handler.dispose();
  }
  // An engine that stalls 40 ms on every 50th hop: the pacing waits for it (in real-time mode
  // the pool would expire the hops queued behind a stall); still exact, nothing late.
  {
    const handler = await legato.createHandler({
      name: "stalling", engines: [{ engine: "js", module: "./engines/gain.js", export: "StallingGain",
                                    options: { every: 50, ms: 40 } }],
      inputs: [{ name: "in", shape: [1, 1, -1], hop: 128 }],
      outputs: [{ name: "out", shape: [1, 1, -1], hop: 128 }],
      max_inference_time_ms: 1, context: { worker_threads: 1 },
    });
    handler.prepare(48000, 128);
    const input = noise(4 * 48000, 12);
    const { output } = await render(legato, handler, input);
    const latency = handler.latency;
    let wrong = 0;
    for (let n = 0; n < input.length; ++n)
      if (output[n] !== (n >= latency ? 0.5 * input[n - latency] : 0)) ++wrong;
    const stats = handler.statistics();
    check(`OfflineAudioContext, 4 s, engine stalling 40 ms every 50th hop: exact, 0 late`,
          wrong === 0 && stats.lateInferences === 0 && stats.expiredInferences === 0 && stats.maxInferenceMs >= 40,
          `${wrong} differ, ${JSON.stringify(stats)}`);
    handler.dispose();
  }
  // The project's cnn_past on ONNX Runtime Web, against the reference the native engines match.
  {
    const handler = await legato.createHandler(await onnxRuntimeWebConfig("cnn_past"));
    handler.prepare(48000, 128);
    const stream = await npy("/repo/models/stream_mono.npy");
    const reference = await npy("/repo/models/cnn_past.out.npy");
    const { output } = await render(legato, handler, stream.data);
    const latency = handler.latency;
    let worst = 0;
    for (let n = 0; n < stream.data.length; ++n)
      worst = Math.max(worst, Math.abs(output[n] - (n >= latency ? reference.data[n - latency] : 0)));
    const stats = handler.statistics();
    check(`OfflineAudioContext, onnxruntime-web cnn_past: the reference delayed by ${latency} (max error ${worst.toExponential(2)})`,
          worst <= 2e-5 && stats.lateInferences === 0, `max error ${worst}, ${stats.lateInferences} late`);
    handler.dispose();
  }
}
