// JavaScript inference workers as the pool's external runners (legato/external_runner.hpp):
// a JS engine's requests are claimed from the pool by the worker that holds the engine, with no
// pool thread relaying them; handlers that need a pool thread (a JS pre/post-processor) still
// get one; two workers each serve their own handlers; a failing async run is counted with its
// message. Every output compared sample by sample.
import { Legato } from "../dist/index.js";
import { noise, offlineRun } from "./util.mjs";

const mono = (engines, hop, extra = {}) => ({
  name: "runner-test", engines,
  inputs: [{ name: "in", shape: [1, 1, -1], hop }],
  outputs: [{ name: "out", shape: [1, 1, -1], hop }],
  max_inference_time_ms: 1, context: { worker_threads: 1 }, ...extra,
});
const gain = (exportName = "Gain") =>
  ({ engine: "js", name: "gain", module: "./engines/gain.js", export: exportName });

// Output is 0.5 x input delayed by the latency, exactly?
function halfDelayed(handler, input, output) {
  let wrong = 0;
  for (let n = 0; n < input.length; ++n)
    if (output[n] !== (n >= handler.latency ? 0.5 * input[n - handler.latency] : 0)) ++wrong;
  return wrong;
}

const delta = (after, before) => after.map((a, k) => ({
  claimed: a.claimed - before[k].claimed, relayed: a.relayed - before[k].relayed,
}));

export async function runnerTests(legato, check) {
  const input = noise(128 * 200, 11);

  // One worker: the handler's 200 requests are all claimed by the worker, none relayed.
  {
    const handler = await legato.createHandler(mono([gain()], 128));
    handler.prepare(48000, 128, { offline: true });
    const before = await legato.inferenceWorkerRuns();
    const output = offlineRun(handler, input, 128);
    const runs = delta(await legato.inferenceWorkerRuns(), before)[0];
    const done = handler.statistics().inferencesCompleted;
    check(`a JS engine's requests are claimed by its worker: ${runs.claimed} claimed, ${runs.relayed} relayed ` +
          `by a pool thread, ${done} completed; output exact`,
          runs.claimed === done && done >= 199 && runs.relayed === 0 && halfDelayed(handler, input, output) === 0,
          JSON.stringify(runs));
    handler.dispose();
  }

  // A JS pre/post-processor posts to a worker's mailbox and waits: such handlers stay with the
  // pool threads (the worker could not wait for itself), and still come out exact.
  {
    const handler = await legato.createHandler(mono([gain()], 128, {
      processor: { module: "./engines/gain.js", export: "DoubleQuarter" },
    }));
    handler.prepare(48000, 128, { offline: true });
    const before = await legato.inferenceWorkerRuns();
    const output = offlineRun(handler, input, 128);
    const runs = delta(await legato.inferenceWorkerRuns(), before)[0];
    // DoubleQuarter doubles into the tensor and quarters back; with the 0.5 gain between: 0.25 x.
    let wrong = 0;
    for (let n = 0; n < input.length; ++n)
      if (output[n] !== (n >= handler.latency ? 0.25 * input[n - handler.latency] : 0)) ++wrong;
    check(`with a JS pre/post-processor a pool thread relays the runs (${runs.relayed} relayed, ${runs.claimed} claimed); output exact`,
          runs.claimed === 0 && runs.relayed >= 199 && wrong === 0, `${JSON.stringify(runs)}, ${wrong} samples differ`);
    handler.dispose();
  }

  // A failing async run: counted, its message reported, the hop substituted, the rest exact.
  {
    const handler = await legato.createHandler(mono([gain("FailsOnMarker")], 128));
    handler.prepare(48000, 128, { offline: true });
    const marked = input.slice();
    marked.fill(123, 128 * 50, 128 * 51);  // the window of hop 50 starts with the marker
    const output = offlineRun(handler, marked, 128);
    const s = handler.statistics();
    let wrong = 0;
    for (let n = 0; n < marked.length; ++n) {
      const source = n - handler.latency;
      if (source >= 128 * 50 && source < 128 * 51) continue;  // the substituted hop
      if (output[n] !== (source >= 0 ? 0.5 * marked[source] : 0)) ++wrong;
    }
    check(`a failing async run is counted with its message (${s.failedInferences} failed: "${handler.lastError}"), ` +
          "the other hops exact",
          s.failedInferences === 1 && /marker hop refused/.test(handler.lastError) && wrong === 0,
          `${s.failedInferences} failed, ${wrong} samples differ, error "${handler.lastError}"`);
    handler.dispose();
  }

  // Two workers: two handlers land on different workers, each claims its own handler's requests.
  {
    const two = await Legato.load({ jsWorkers: 2, memoryMiB: 32 });
    const a = await two.createHandler(mono([gain()], 128));
    const b = await two.createHandler(mono([gain()], 64));
    a.prepare(48000, 128, { offline: true });
    b.prepare(48000, 128, { offline: true });
    const before = await two.inferenceWorkerRuns();
    const outA = new Float32Array(input.length);
    const outB = new Float32Array(input.length);
    for (let at = 0; at < input.length; at += 128) {
      a.process(input.subarray(at, at + 128), outA.subarray(at, at + 128));
      b.process(input.subarray(at, at + 128), outB.subarray(at, at + 128));
    }
    const runs = delta(await two.inferenceWorkerRuns(), before);
    const done = a.statistics().inferencesCompleted + b.statistics().inferencesCompleted;
    check(`two JS workers each claim their own handler's requests (${runs.map((r) => r.claimed).join(" + ")} of ${done}); both exact`,
          runs.every((r) => r.claimed >= 199 && r.relayed === 0) && runs[0].claimed + runs[1].claimed === done &&
          halfDelayed(a, input, outA) === 0 && halfDelayed(b, input, outB) === 0,
          JSON.stringify(runs));
    a.dispose();
    b.dispose();
  }
}
