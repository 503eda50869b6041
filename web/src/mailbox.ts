// The mailbox between C++ threads and a JavaScript inference worker: the layout of
// legato::web::mailbox::Mailbox (web/cpp/js_bridge.hpp), in bytes. Keep both in step; the
// package checks the total against the module's at start-up.

export const State = { free: 0, claimed: 1, posted: 2, done: 3, failed: 4 } as const;
export const Op = { create: 1, run: 2, reset: 3, destroy: 4, pre: 5, post: 6 } as const;

export const maxViews = 32;
export const viewBytes = 36;
export const errorBytes = 512;
export const mailboxBytes = 64 + 2 * maxViews * viewBytes + errorBytes;

/** Byte offsets of the header fields. */
export const Field = {
  state: 0, op: 4, engine: 8, instance: 12, flags: 16, countA: 20, countB: 24,
  instanceIndex: 28, hopIndex: 32,
  // JavaScript only (the C++ side never touches it): control messages the main thread has
  // posted to the worker, so a worker blocked in Atomics.wait knows to let them in.
  bell: 40,
  // 44: `turn`, C++ only (claimants of the mailbox wait on it).
  // The word the worker sleeps on: rung by a posted call, a request for the worker's runner
  // and a message from the main thread.
  doorbell: 48,
  viewsA: 64, viewsB: 64 + maxViews * viewBytes,
  error: 64 + 2 * maxViews * viewBytes,
} as const;

/** One listed array (View in js_bridge.hpp). */
export interface ViewEntry {
  data: Float32Array;
  shape: number[];
  tag0: number;
  tag1: number;
}

/** [inference worker] Reads `count` views starting at byte `at` of the mailbox at `box`. */
export function readViews(buffer: SharedArrayBuffer, box: number, at: number,
                          count: number): ViewEntry[] {
  const u32 = new Uint32Array(buffer, box + at, count * (viewBytes / 4));
  const i32 = new Int32Array(buffer, box + at, count * (viewBytes / 4));
  const views: ViewEntry[] = [];
  for (let v = 0; v < count; ++v) {
    const w = v * (viewBytes / 4);
    const rank = u32[w + 2];
    views.push({
      data: new Float32Array(buffer, u32[w], u32[w + 1]),
      shape: Array.from(i32.subarray(w + 3, w + 3 + rank)),
      tag0: i32[w + 7],
      tag1: i32[w + 8],
    });
  }
  return views;
}
