// A custom worklet (a LegatoProcessor subclass, test/engines/gain-processor.js) with its own
// AudioParam, a multi-tensor model (the project's gain model on ONNX Runtime Web: audio and a
// parameter tensor in, audio and a value out) and a custom block size of 512: every output
// sample must be 0.75 x input, delayed by the node's latency (the handler's + 512 - 128).
import { onnxRuntimeWebConfig, playThrough } from "./util.mjs";

export async function customTests(legato, check) {
  const handler = await legato.createHandler(await onnxRuntimeWebConfig("gain"));
  handler.prepare(48000, 512);
  const context = new AudioContext({ sampleRate: 48000 });
  await legato.startWorklet(context);
  await context.audioWorklet.addModule(new URL("./engines/gain-processor.js", import.meta.url));
  const node = await legato.createWorkletNode(context, "legato-test-gain", handler,
                                              { blockSize: 512, parameters: ["gain"] });
  node.node.parameters.get("gain").value = 0.75;
  const latency = node.latency;
  const { source, output, length, recorded } = await playThrough(context, node, 2);
  let wrong = 0;
  let compared = 0;
  for (let f = latency + 4800; f < length; ++f) {  // after the param's first quanta
    if (!recorded(f) || !recorded(f - latency)) continue;
    ++compared;
    if (output[f] !== Math.fround(0.75 * source[f - latency])) ++wrong;
  }
  const stats = handler.statistics();
  console.log(`custom worklet: ${compared} compared, latency ${latency} (handler ${handler.latency}), ` +
              `${stats.lateInferences} late, ${wrong} differing`);
  check(`custom LegatoProcessor, block 512, gain AudioParam: output is 0.75 x input delayed by ${latency} (handler + 384)`,
        compared > 48000 && wrong <= stats.substitutedFrames && latency === handler.latency + 384,
        `${wrong} of ${compared} differ, ${stats.substitutedFrames} substituted`);
  let message = "";
  try { await legato.createWorkletNode(context, "legato-test-gain", handler, { blockSize: 200 }); } catch (e) { message = e.message; }
  check("createWorkletNode refuses a block size that is not a multiple of 128", /multiple of 128/.test(message), message);
  node.dispose();
  await context.close();
  handler.dispose();
}
