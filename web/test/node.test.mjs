// Legato.createNode() in a real AudioContext: a buffer source -> the Legato node (bypass,
// hop 128) -> a recorder that also taps the source. Every recorded output sample must equal
// the source delayed by exactly latency() samples, unless the handler counted it substituted.
import { Legato } from "../dist/index.js";

export async function nodeTests(check) {
  const legato = await Legato.load();
  const context = new AudioContext({ sampleRate: 48000 });
  const handler = await legato.createHandler({
    name: "bypass", engines: [{ engine: "bypass" }],
    inputs: [{ name: "in", shape: [1, 1, -1], hop: 128 }],
    outputs: [{ name: "out", shape: [1, 1, -1], hop: 128 }],
    max_inference_time_ms: 1, context: { worker_threads: 1 },
  });
  handler.prepare(48000, 128, { latency: 1024 });
  const latency = handler.latency;
  const legatoNode = await legato.createNode(context, handler);

  const seconds = 3;
  const buffer = context.createBuffer(1, seconds * 48000, 48000);
  const data = buffer.getChannelData(0);
  let noise = 0x1234567;
  for (let n = 0; n < data.length; ++n) {
    noise ^= noise << 13; noise ^= noise >>> 17; noise ^= noise << 5;
    data[n] = ((noise >>> 0) / 4294967296 - 0.5) * 0.8;
  }
  const source = new AudioBufferSourceNode(context, { buffer });
  await context.audioWorklet.addModule("./recorder.js");
  const recorder = new AudioWorkletNode(context, "legato-test-recorder", { numberOfInputs: 2, numberOfOutputs: 0 });
  const blocks = [];
  recorder.port.onmessage = (event) => blocks.push(event.data);
  source.connect(recorder, 0, 0);
  source.connect(legatoNode.node).connect(recorder, 0, 1);
  legatoNode.node.connect(context.destination);
  await context.resume();
  source.start();
  await new Promise((resolve) => setTimeout(resolve, (seconds + 0.5) * 1000));
  await context.suspend();

  // Rebuild both signals on the context's frame axis, then compare output[f] with source[f - latency].
  const first = blocks.length ? blocks[0].frame : 0;
  const length = blocks.length ? blocks[blocks.length - 1].frame + 128 - first : 0;
  const source_ = new Float32Array(length);
  const output = new Float32Array(length);
  for (const b of blocks) { source_.set(b.source, b.frame - first); output.set(b.output, b.frame - first); }
  let wrong = 0;
  let compared = 0;
  for (let f = latency; f < length; ++f) {
    ++compared;
    if (output[f] !== source_[f - latency]) ++wrong;
  }
  const nonzero = source_.reduce((count, x) => count + (x !== 0 ? 1 : 0), 0);
  const stats = handler.statistics();
  check("createNode: the source played through the node for 3 s", nonzero > 2.5 * 48000,
        `${nonzero} source samples`);
  check(`createNode: output is the source delayed by exactly latency ${latency}`,
        wrong <= stats.substitutedFrames && compared > 0,
        `${wrong} of ${compared} samples differ, ${stats.substitutedFrames} substituted`);
  check("createNode: few substitutions", stats.substitutedFrames <= compared / 100,
        `${stats.substitutedFrames} substituted, ${stats.lateInferences} late`);
  console.log(`node: ${compared} samples compared, latency ${latency}, ${stats.lateInferences} late, ` +
              `${stats.substitutedFrames} substituted, ${wrong} differing`);
  legatoNode.dispose();
  await context.close();
}
