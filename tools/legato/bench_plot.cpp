#include "tools/legato/bench_plot.hpp"

#include <sys/wait.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <limits>
#include <set>
#include <sstream>
#include <thread>

#include "tools/legato/output_file.hpp"

namespace legato::cli {

namespace {

namespace fs = std::filesystem;

// Runs a shell command, returning its exit status and what it printed.
int run_command(const std::string& command, std::string* output) {
    FILE* pipe = popen((command + " 2>&1").c_str(), "r");
    if (pipe == nullptr)
        return -1;
    char buffer[256];
    while (std::fgets(buffer, sizeof buffer, pipe) != nullptr)
        *output += buffer;
    const int status = pclose(pipe);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

// A gnuplot string. Single quotes keep backslashes literal; a newline, which they cannot
// hold, is joined in as a double-quoted "\n".
std::string gnuplot_quote(const std::string& text) {
    std::string quoted = "'";
    for (const char ch : text) {
        if (ch == '\'')
            quoted += "''";
        else if (ch == '\n')
            quoted += "'.\"\\n\".'";
        else
            quoted += ch;
    }
    return quoted + "'";
}

std::string number(double value, int digits) {
    char text[32];
    std::snprintf(text, sizeof text, "%.*g", digits, value);
    return text;
}

// k and M keep the labels of a log axis short: 10k, not 10000 or 1e+04.
std::string short_number(double value) {
    if (value >= 1e6)
        return number(value / 1e6, 3) + "M";
    if (value >= 1e3)
        return number(value / 1e3, 3) + "k";
    return number(value, 3);
}

// Block sizes are mostly powers of two, so 1k = 1024 as in audio software.
std::string block_label(std::size_t block) {
    if (block >= 1024 && block % 1024 == 0)
        return std::to_string(block / 1024) + "k";
    return std::to_string(block);
}

// Okabe-Ito colours, distinguishable with colour blindness; red is the real-time limit's.
constexpr const char* palette[] = {"#0072b2", "#e69f00", "#009e73", "#cc79a7",
                                   "#56b4e9", "#d55e00", "#000000"};

struct Series {
    std::string data;   // a gnuplot data block: block, p50, p99 through Legato, direct p50
    std::string plots;  // its plot clauses
};

// One engine's data block and its p99 band, p50 line and dashed direct line; the band goes
// first so that the lines are drawn over it.
Series engine_series(const std::vector<bench::BlockMeasurement>& rows, const std::string& engine,
                     std::size_t index, std::set<std::size_t>* blocks, std::vector<double>* ys) {
    std::ostringstream points;
    std::size_t count = 0;
    for (const auto& m : rows) {
        if (m.engine != engine || m.skipped)
            continue;
        const double p50 = m.per_sample_ns(m.handler_us.p50);
        const double p99 = m.per_sample_ns(m.handler_us.p99);
        const double direct = m.per_sample_ns(m.direct_us.p50);
        points << m.block << ' ' << p50 << ' ' << p99 << ' ' << direct << '\n';
        blocks->insert(m.block);
        ys->insert(ys->end(), {p50, p99, direct});
        ++count;
    }
    if (count == 0)
        return {};
    const std::string name = "$engine" + std::to_string(index);
    const std::string rgb = palette[index % std::size(palette)];
    const std::string colour = " lc rgb " + gnuplot_quote(rgb) + " title ";
    // A band needs two blocks; one block gets a wide bar, as translucent (alpha cc) as a band.
    const std::string band =
        count > 1
            ? " using 1:2:3 with filledcurves fs transparent solid 0.2 noborder" + colour
            : " using 1:2:2:3 with yerrorbars lw 12 ps 0 lc rgb '#cc" + rgb.substr(1) + "' title ";
    return {name + " << EOD\n" + points.str() + "EOD\n",
            name + band + gnuplot_quote(engine + " via Legato: p50–p99") + ", " + name +
                " using 1:2 with linespoints lw 2.5 pt 7 ps 1.1" + colour +
                gnuplot_quote(engine + " via Legato: p50") + ", " + name +
                " using 1:4 with linespoints lw 1.5 dt 2 pt 6 ps 1.1" + colour +
                gnuplot_quote(engine + " direct: p50")};
}

// Tics at the measured block sizes only, labelled 64, 256, 1k, 16k.
std::string x_axis(const std::set<std::size_t>& blocks) {
    std::string tics;
    for (const std::size_t block : blocks)
        tics += (tics.empty() ? "" : ", ") + gnuplot_quote(block_label(block)) + " " +
                std::to_string(block);
    // A margin so that the first and last points do not sit on the border.
    return "set xrange [" + number(static_cast<double>(*blocks.begin()) / 1.3, 6) + ":" +
           number(static_cast<double>(*blocks.rbegin()) * 1.3, 6) + "]\nset xtics (" + tics + ")\n";
}

// Whole decades from below the lowest to above the highest of `ys`, labelled 1, 10, 100,
// 1k (with 2 and 5 on a short axis), unlabelled minor tics between: gnuplot's own labels on
// a log axis read 1e+04.
std::string y_axis(const std::vector<double>& ys) {
    double low = std::numeric_limits<double>::max();
    double high = 0.0;
    for (const double y : ys)
        if (y > 0.0) {  // a log axis drops zeros (a timer tick too coarse for the bypass)
            low = std::min(low, y);
            high = std::max(high, y);
        }
    const int first = static_cast<int>(std::floor(std::log10(low)));
    const int last = std::max(first + 1, static_cast<int>(std::ceil(std::log10(high))));
    const bool short_axis = last - first <= 3;
    std::string tics;
    for (int decade = first; decade <= last; ++decade)
        for (int digit = 1; digit <= (decade < last ? 9 : 1); ++digit) {
            const double at = digit * std::pow(10.0, decade);
            const bool labelled = digit == 1 || (short_axis && (digit == 2 || digit == 5));
            tics += (tics.empty() ? "" : ", ") + gnuplot_quote(labelled ? short_number(at) : "") +
                    " " + number(at, 3) + (labelled ? "" : " 1");
        }
    return "set yrange [" + number(std::pow(10.0, first), 3) + ":" +
           number(std::pow(10.0, last), 3) + "]\nset ytics (" + tics + ")\n";
}

// Everything after `set terminal` and `set output`; "" when nothing was measured.
std::string plot_script(const std::string& title, const std::vector<bench::BlockMeasurement>& rows,
                        const std::vector<std::string>& engines, double sample_rate) {
    // One inference per hop must take no longer than the hop lasts: 1/fs per sample.
    const double limit = 1e9 / sample_rate;
    std::set<std::size_t> blocks;
    std::vector<double> ys{limit, 2.0 * limit};  // room above the limit for its label
    std::string data;
    std::string plots;
    std::size_t plotted = 0;
    for (std::size_t e = 0; e < engines.size(); ++e) {
        const Series series = engine_series(rows, engines[e], e, &blocks, &ys);
        data += series.data;
        if (!series.plots.empty()) {
            plots += series.plots + ", ";
            ++plotted;
        }
    }
    if (blocks.empty())
        return {};
    const std::string limit_text = "real-time limit: " + number(std::round(limit), 7) +
                                   " ns per sample (" + number(limit / 1000.0, 3) + " µs) at " +
                                   sample_rate_text(sample_rate) + ", slower above";
    std::ostringstream script;
    script << "set encoding utf8\n"
           << "set title " << gnuplot_quote(title) << " noenhanced font ',13'\n"
           << "set logscale xy\nset bars 0\n"
           << x_axis(blocks) << y_axis(ys)
           << "set grid xtics ytics mytics lt 1 lc rgb '#dddddd', lt 1 lc rgb '#f0f0f0'\n"
           << "set xlabel 'block size = hop (samples; 1k = 1024)'\n"
           << "set ylabel 'runtime per sample (ns)'\n";
    // Below the graph, so that the graph keeps the full width: a column of three entries per
    // engine (gnuplot fills the columns), or one row for a single engine.
    script << "set key outside below center horizontal maxcols " << (plotted == 1 ? 3 : plotted)
           << " reverse Left noenhanced spacing 1.2 height 1\n";
    // Above the limit an engine is slower than real time: that region is tinted.
    script << "set object 1 rectangle from graph 0, first " << limit
           << " to graph 1, graph 1 behind fillcolor rgb 'red' fillstyle transparent solid 0.06 "
              "noborder\n"
           << "set label 1 " << gnuplot_quote(limit_text) << " right at graph 0.99, first " << limit
           << " offset 0,0.8 textcolor rgb '#c00000' front noenhanced\n"
           << data << "plot " << plots << limit << " with lines lw 2 dt 3 lc rgb 'red' notitle\n";
    return script.str();
}

}  // namespace

std::string machine_description() {
    std::ifstream file("/proc/cpuinfo");
    std::string line;
    std::string model;
    std::string fallback;
    while (std::getline(file, line)) {
        const std::size_t colon = line.find(':');
        if (colon == std::string::npos)
            continue;
        std::istringstream key_words(line.substr(0, colon));
        std::istringstream value_words(line.substr(colon + 1));
        std::string key, value, word;
        while (key_words >> word)
            key += (key.empty() ? "" : " ") + word;
        while (value_words >> word)  // some models pad with runs of spaces
            value += (value.empty() ? "" : " ") + word;
        if (key == "model name" && !value.empty()) {
            model = value;
            break;
        }
        // Many ARM kernels name the machine only in "Hardware" or "Processor".
        if ((key == "Hardware" || key == "Processor") && fallback.empty())
            fallback = value;
    }
    std::string text = !model.empty() ? model : !fallback.empty() ? fallback : "unknown CPU";
    if (const unsigned cpus = std::thread::hardware_concurrency(); cpus > 0)
        text += ", " + std::to_string(cpus) + (cpus == 1 ? " CPU" : " CPUs");
    return text;
}

std::string sample_rate_text(double sample_rate) {
    return number(sample_rate / 1000.0, 4) + " kHz";
}

std::string draw_plot(const std::string& png, const std::string& title,
                      const std::vector<bench::BlockMeasurement>& rows,
                      const std::vector<std::string>& engines, double sample_rate) {
    std::string terminals;
    if (run_command("gnuplot -e 'set terminal'", &terminals) != 0)
        return "gnuplot is not available (install gnuplot-nox, scripts/setup.sh does): " +
               terminals;
    std::string terminal;
    if (terminals.find("pngcairo") != std::string::npos)
        terminal = "pngcairo size 1200,750 font 'sans,11'";
    else if (terminals.find(" png ") != std::string::npos)
        terminal = "png truecolor size 1200,750";  // truecolor: the bands are transparent
    else
        return "gnuplot has neither the pngcairo nor the png terminal";

    const fs::path script_path = fs::path(png).replace_extension(".gp");
    const std::string script = plot_script(title, rows, engines, sample_rate);
    if (script.empty())
        return "no block size was measured, nothing to plot";
    // The image and the script are written beside their destinations and renamed over them
    // only when complete (output_file.hpp): a failed plot leaves earlier files as they were.
    try {
        OutputFile image(png);
        OutputFile script_file(script_path);
        auto write_script = [&](const std::string& output_path) {
            std::ofstream out(script_file.temporary());
            out << "# Written by `legato bench`; re-run with: gnuplot " << script_path.string()
                << "\n"
                << "set terminal " << terminal << "\n"
                << "set output " << gnuplot_quote(output_path) << "\n"
                << script;
            return static_cast<bool>(out);
        };
        if (!write_script(image.temporary().string()))
            return script_path.string() + ": cannot write the gnuplot script";
        std::string output;
        if (run_command("gnuplot " + gnuplot_quote(script_file.temporary().string()), &output) != 0)
            return "gnuplot failed on " + script_path.string() + ": " + output;
        std::error_code error;
        if (fs::file_size(image.temporary(), error) == 0 || error)
            return "gnuplot wrote no image to " + png + (output.empty() ? "" : ": " + output);
        image.commit();
        if (!write_script(png))
            return script_path.string() + ": cannot write the gnuplot script";
        script_file.commit();
    } catch (const std::runtime_error& e) {
        return e.what();
    }
    return {};
}

}  // namespace legato::cli
