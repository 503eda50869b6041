// Rendering an OfflineAudioContext through Legato nodes. The worklet must never wait, so the
// rendering is paced: it suspends every few quanta, and the main thread resumes it only once
// every inference submitted so far has finished. A hop's inference is submitted in the quantum that completes the hop and its first
// sample is played latency() - hop + 1 samples later; with the suspension interval at most
// latency() - hop - 128 (one quantum of rounding), every result is in before the audio thread
// needs it: nothing is late, and the output is exact whatever the machine's
// speed.

import type { InferenceHandler } from "./handler.js";

/** [main thread] Renders `context` (whose graph holds Legato nodes running `handlers`) and
 *  returns the rendered buffer. `interval` (samples, a multiple of 128) defaults to the largest
 *  that keeps every handler on time. Rejects if an inference takes longer than `timeoutMs`. */
export async function renderOffline(context: OfflineAudioContext, handlers: InferenceHandler[],
                                    options: { interval?: number; timeoutMs?: number } = {}): Promise<AudioBuffer> {
  const quantum = 128;
  const slack = Math.min(...handlers.map((h) => h.latency - h.hop - quantum));
  const interval = options.interval ??
    Math.max(quantum, Math.floor(slack / quantum) * quantum);
  if (interval > slack && handlers.length > 0)
    throw new Error(`legato: renderOffline: interval ${interval} exceeds latency - hop - 128 (${slack}); ` +
                    "prepare the handlers with more latency");
  const timeoutMs = options.timeoutMs ?? 10000;
  const settled = () => handlers.every((h) => {
    const s = h.statistics();
    return s.inferencesCompleted + s.failedInferences + s.expiredInferences + s.droppedInferences >=
      s.inferencesSubmitted;
  });
  for (const handler of handlers) handler.setOfflineRendering(true);
  let next = interval;
  const schedule = () => {
    if (next >= context.length) return;
    void context.suspend(next / context.sampleRate).then(async () => {
      const deadline = performance.now() + timeoutMs;
      while (!settled()) {
        if (performance.now() > deadline) {
          // Never hang, and never let the worklet wait: real time, unpaced, from here on.
          console.warn("legato: renderOffline: an inference exceeded timeoutMs; " +
                       "finishing in real-time mode (late hops substituted and counted)");
          for (const handler of handlers) handler.setOfflineRendering(false);
          await context.resume();
          return;
        }
        await yieldToEventLoop();
      }
      next += interval;
      schedule();
      await context.resume();
    });
  };
  schedule();
  try {
    return await context.startRendering();
  } finally {
    for (const handler of handlers) handler.setOfflineRendering(false);
  }
}

// A macrotask turn without setTimeout's 4 ms clamp.
function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => {
    const channel = new MessageChannel();
    channel.port1.onmessage = () => { channel.port1.close(); resolve(); };
    channel.port2.postMessage(null);
  });
}
