#pragma once
// The PNG of `legato bench --plot` (docs/cli.md): runtime per sample over block size, drawn
// with gnuplot from the per-block measurements.

#include <string>
#include <vector>

#include "bench_support/engine_measure.hpp"

namespace legato::cli {

/// The CPU model (/proc/cpuinfo) and the number of logical CPUs, e.g. "AMD EPYC 7B13, 2 CPUs";
/// "unknown CPU, ..." where /proc/cpuinfo names no model.
std::string machine_description();

/// A sample rate for people, e.g. "48 kHz", "44.1 kHz".
std::string sample_rate_text(double sample_rate);

/// Draws runtime per sample over block size to `png` with gnuplot, keeping the script beside
/// it as .gp. Per engine: through Legato the median as a line in a p50-p99 band, the direct
/// engine call's median dashed; the real-time limit 1/`sample_rate` labelled with its value.
/// `title` may hold several lines ('\n'). Both files are replaced only when complete.
/// Returns an error message, or "" on success.
std::string draw_plot(const std::string& png, const std::string& title,
                      const std::vector<bench::BlockMeasurement>& rows,
                      const std::vector<std::string>& engines, double sample_rate);

}  // namespace legato::cli
