// The emscripten module's C ABI (web/cpp/*.cpp) as TypeScript sees it, and the disposal helpers
// every owning object shares.

/** The emscripten module: the C ABI of web/cpp on one shared memory. @internal */
export interface LegatoModule {
  HEAPF32: Float32Array;
  HEAPF64: Float64Array;
  HEAP32: Int32Array;
  HEAPU32: Uint32Array;
  HEAPU8: Uint8Array;
  _malloc(bytes: number): number;
  _free(pointer: number): void;
  _legato_last_error(): number;
  _legato_handler_create(json: number, context: number): number;
  _legato_handler_prepare(handler: number, sampleRate: number, maxBlock: number, offline: number,
                          minLatency: number, burstMargin: number): number;
  _legato_handler_latency(handler: number): number;
  _legato_handler_process(handler: number, input: number, output: number, frames: number): void;
  _legato_handler_process_planar(handler: number, input: number, inChannels: number, output: number,
                                 outChannels: number, stride: number, frames: number): void;
  _legato_handler_destroy(handler: number): void;
  _legato_heap_in_use(): number;
  _legato_handler_native(handler: number): number;
  _legato_handler_reset(handler: number): void;
  _legato_handler_statistics(handler: number, out: number): void;
  _legato_handler_set_engine(handler: number, index: number): number;
  _legato_handler_engine(handler: number): number;
  _legato_handler_engine_count(handler: number): number;
  _legato_handler_set_parameter(handler: number, name: number, values: number, count: number): number;
  _legato_handler_set_offline(handler: number, offline: number): void;
  _legato_handler_channels(handler: number): number;
  _legato_context_create(workers: number): number;
  _legato_context_destroy(context: number): void;
  _legato_js_register_worker(box: number): number;
  _legato_js_mailbox_bytes(): number;
  _legato_handler_last_error(handler: number): number;
  _legato_js_worker_spawn(url: number, channel: number, box: number, index: number, asyncWait: number): number;
  _legato_audio_start(context: number): number;
  _legato_audio_state(thread: number): number;
  _legato_node_create(context: number, handler: number, inChannels: number, outChannels: number,
                      params: number, run: number): number;
  _legato_node_destroy(run: number): void;
  emscriptenRegisterAudioObject(object: unknown): number;
  emscriptenGetAudioObject(handle: number): unknown;
  UTF8ToString(pointer: number): string;
  stringToNewUTF8(text: string): number;
}

/** `Symbol.dispose` where the runtime has it (so `using` works), else a stand-in. */
export const disposeSymbol: typeof Symbol.dispose =
  (Symbol as { dispose?: typeof Symbol.dispose }).dispose ??
  (Symbol.for("Symbol.dispose") as typeof Symbol.dispose);

/** Warns about owning objects garbage-collected without dispose(). @internal */
export const neverDisposed = new FinalizationRegistry<string>((what) => {
  console.warn(`legato: ${what} was garbage-collected without dispose(): its C++ memory leaked`);
});

/** [main thread] The module's last error on this thread, as an Error. @internal */
export function lastError(m: LegatoModule): Error {
  return new Error(m.UTF8ToString(m._legato_last_error()));
}

/** [main thread] `bytes` of the module's heap (free with `_free`); throws an Error when the heap
 *  is full: it never grows, its size is chosen at Legato.load(). @internal */
export function allocate(m: LegatoModule, bytes: number): number {
  const pointer = m._malloc(bytes);
  if (pointer === 0) throw outOfMemory(m, bytes);
  return pointer;
}

/** [main thread] `text` as a NUL-terminated UTF-8 string on the heap (free with `_free`);
 *  throws like allocate() when the heap is full. @internal */
export function newString(m: LegatoModule, text: string): number {
  const pointer = m.stringToNewUTF8(text);
  if (pointer === 0) throw outOfMemory(m, text.length * 3 + 1);
  return pointer;
}

function outOfMemory(m: LegatoModule, bytes: number): Error {
  const mib = (n: number) => Math.round(n / 1048576);
  return new Error(`out of memory: the module's ${mib(m.HEAPU8.buffer.byteLength)} MiB heap ` +
                   `cannot hold ${bytes} more bytes (${mib(m._legato_heap_in_use())} MiB in use); ` +
                   "load with a larger Legato.load({ memoryMiB })");
}
