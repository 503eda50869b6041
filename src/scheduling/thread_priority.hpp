#pragma once
// Giving a thread real-time scheduling where the system permits it.

namespace legato::scheduling {

/// [the thread itself] Asks for SCHED_FIFO at `priority` for the calling thread. Returns true
/// on success; false (scheduling unchanged) when not permitted (no CAP_SYS_NICE / rtprio
/// limit), so callers fall back gracefully.
bool set_realtime_priority(int priority) noexcept;

}  // namespace legato::scheduling
