// A multi-tensor model with an AudioParam: the project's gain model (audio_in and a "gain"
// parameter tensor -> audio_out and a "peak" value) on ONNX Runtime Web, in a Legato node whose
// AudioParam drives "gain". The param starts at the config's default (0.5) and steps at three times; each inference must use the value
// the param has at the last sample of its hop (so a step takes effect from the start of the
// hop it falls in), and every output sample must be gain x input, delayed by latency().
import { onnxRuntimeWebConfig, playThrough } from "./util.mjs";

export async function paramTests(legato, check) {
  const handler = await legato.createHandler(await onnxRuntimeWebConfig("gain"));
  handler.prepare(48000, 128, { latency: 2048 });
  const latency = handler.latency;
  const context = new AudioContext({ sampleRate: 48000 });
  const node = await legato.createNode(context, handler, { parameters: ["gain"] });
  const steps = [];  // [context frame, value]
  const { source, output, length, first, gaps, recorded } = await playThrough(context, node, 2, (ctx) => {
    const start = Math.ceil(ctx.currentTime * 48000) + 4800;
    const param = node.parameter("gain");
    for (const [offset, value] of [[0, 0.25], [19200 + 101, 1.5], [48000 + 37, 0.75]]) {
      steps.push([start + offset, value]);
      param.setValueAtTime(value, (start + offset) / 48000);
    }
  });
  const changes = [];
  let previous = NaN;
  let wrong = 0;
  let firstWrong = "";
  for (let i = 0; i + latency < length; ++i) {
    if (source[i] === 0 || !recorded(i) || !recorded(i + latency)) continue;
    const g = [0.5, 0.25, 1.5, 0.75].find((v) => output[i + latency] === Math.fround(v * source[i]));
    if (g === undefined) {
      if (wrong++ === 0) firstWrong = `frame ${first + i} (input ${source[i]}, output ${output[i + latency]})`;
      continue;
    }
    if (g !== previous && !Number.isNaN(previous)) changes.push([first + i, g]);
    previous = g;
  }
  // Each step at frame T: the change to its value at the start of the hop holding T.
  const phases = new Set(changes.map(([frame]) => frame % 256));
  const aligned = steps.every(([frame, value]) =>
    changes.some(([at, g]) => g === value && at <= frame + 1 && frame - 1 < at + 256));
  const stats = handler.statistics();
  check(`AudioParam -> "gain" tensor: every output sample is gain x input delayed by ${latency}`,
        wrong <= stats.substitutedFrames && stats.inferencesCompleted > 100,
        `${wrong} samples match no gain value (first: ${firstWrong}), ${stats.substitutedFrames} ` +
          `substituted; steps ${JSON.stringify(steps)}, recording from frame ${first}, ${gaps} quanta unrecorded`);
  check("AudioParam steps take effect at the inference boundary holding them (one hop phase)",
        changes.length === 3 && phases.size === 1 && aligned,
        `changes ${JSON.stringify(changes)}, steps ${JSON.stringify(steps)}`);
  node.dispose();
  await context.close();
  handler.dispose();
  let message = "";
  try { await legato.createNode(new AudioContext(), handler, { parameters: ["gain"] }); } catch (e) { message = e.message; }
  check("a node refuses use of a disposed handler", /disposed/.test(message), message);
}
