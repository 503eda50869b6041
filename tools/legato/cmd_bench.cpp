// `legato bench CONFIG`: the runtime per sample of every engine of a model over block sizes,
// directly and through Legato (after Ackva & Schulz 2024, the ANIRA study), Legato's overhead,
// warm-up, real-time violations, and optionally N handlers paced in real time (docs/cli.md,
// docs/benchmarks.md).

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "bench_support/engine_measure.hpp"
#include "legato/config_file.hpp"
#include "legato/context.hpp"
#include "legato/engines.hpp"
#include "legato/error.hpp"
#include "support/run_support.hpp"
#include "tools/legato/bench_plot.hpp"
#include "tools/legato/commands.hpp"
#include "tools/legato/config_argument.hpp"
#include "tools/legato/exit_codes.hpp"
#include "tools/legato/output_file.hpp"

namespace legato::cli {

namespace {

namespace fs = std::filesystem;
using nlohmann::json;

struct BenchOptions {
    std::string config;
    std::string engines = "all";
    std::vector<std::size_t> blocks{64, 128, 256, 512, 1024, 2048, 4096, 8192};
    std::size_t iterations = 50;
    std::size_t repetitions = 10;
    std::vector<std::size_t> instances;  // empty: no paced runs
    double seconds = 5.0;
    std::size_t paced_block = 256;
    double paced_max_inference_ms = 0.0;  // 0: the config's bound
    std::size_t workers = 0;              // 0: the config's context
    std::string wake_strategy;            // empty: the config's context
    std::string csv;
    std::string json_file;
    std::string plot;
};

std::string join(const std::vector<std::string>& items) {
    std::string text;
    for (const auto& item : items)
        text += (text.empty() ? "" : ", ") + item;
    return text;
}

std::vector<std::string> split(const std::string& text) {
    std::vector<std::string> items;
    std::stringstream stream(text);
    std::string item;
    while (std::getline(stream, item, ','))
        if (!item.empty())
            items.push_back(item);
    return items;
}

// The first line of /proc/loadavg: the machine load the numbers were taken under.
std::string load_average() {
    std::ifstream file("/proc/loadavg");
    std::string a, b, c;
    file >> a >> b >> c;
    return a + " " + b + " " + c;
}

std::string csv_text(const std::string& text) {
    if (text.find_first_of(",\"\n") == std::string::npos)
        return text;
    std::string quoted = "\"";
    for (const char ch : text)
        quoted += ch == '"' ? std::string("\"\"") : std::string(1, ch);
    return quoted + "\"";
}

json summary_json(const bench::Summary& s) {
    return {{"p50", s.p50}, {"p99", s.p99}, {"max", s.max}, {"mean", s.mean}, {"count", s.count}};
}

json block_json(const bench::BlockMeasurement& m) {
    json row{{"engine", m.engine}, {"block", m.block}, {"skipped", m.skipped}, {"note", m.note}};
    if (m.skipped)
        return row;
    row["ns_per_sample"] = {
        {"direct",
         {{"p50", m.per_sample_ns(m.direct_us.p50)}, {"p99", m.per_sample_ns(m.direct_us.p99)}}},
        {"handler",
         {{"p50", m.per_sample_ns(m.handler_us.p50)}, {"p99", m.per_sample_ns(m.handler_us.p99)}}}};
    row["direct_us"] = summary_json(m.direct_us);
    row["handler_us"] = summary_json(m.handler_us);
    row["cold_us"] = m.cold_us;
    row["load_ms"] = m.load_ms;
    row["engine_in_handler_us"] = summary_json(m.engine_in_handler_us);
    row["worker_mean_us"] = m.worker_mean_us;
    row["overhead_us"] = m.overhead_us;
    row["overhead_pct"] = m.overhead_pct;
    row["handover_us"] = m.round_trip_overhead_us;
    row["hop_ms"] = m.hop_ms;
    row["rt_violations"] = m.violations;
    row["inferences"] = m.inferences;
    row["failed"] = m.failed;
    return row;
}

json paced_json(const bench::PacedMeasurement& m) {
    return {{"engine", m.engine},
            {"handlers", m.handlers},
            {"block", m.block},
            {"seconds", m.seconds},
            {"periods", m.periods},
            {"inferences", m.inferences},
            {"late", m.late},
            {"late_pct", m.late_pct},
            {"failed", m.failed},
            {"process_us", summary_json(m.process_us)},
            {"callback_us", summary_json(m.callback_us)},
            {"slowest_inference_ms", m.slowest_inference_ms},
            {"latency_samples", m.latency_samples},
            {"max_inference_time_ms", m.max_inference_time_ms},
            {"worker_threads", m.worker_threads},
            {"realtime_audio_thread", m.realtime_audio_thread},
            {"host_overruns", m.host_overruns},
            {"steal_ticks", m.steal_ticks}};
}

// Writes `path` through a temporary file beside it (output_file.hpp): a failed write leaves
// an existing file as it was.
template <class Write>
void write_file(const std::string& path, Write&& write) {
    try {
        OutputFile file(path);
        {
            std::ofstream out(file.temporary());
            if (!out)
                throw Error(path + ": cannot write");
            write(out);
            out.flush();
            if (!out)
                throw Error(path + ": write failed");
        }
        file.commit();
    } catch (const std::runtime_error& e) {
        throw Error(e.what());
    }
}

void write_csv(std::ostream& out, const std::vector<bench::BlockMeasurement>& rows) {
    out << "engine,block,skipped,direct_ns_per_sample_p50,direct_ns_per_sample_p99,"
           "handler_ns_per_sample_p50,handler_ns_per_sample_p99,inference_us_p50,"
           "inference_us_p99,inference_us_max,direct_us_p50,direct_us_p99,direct_us_max,cold_us,"
           "load_ms,worker_mean_us,engine_in_handler_us_p50,overhead_us,overhead_pct,handover_us,"
           "rt_violations,"
           "inferences,failed,note\n";
    for (const auto& m : rows) {
        out << m.engine << ',' << m.block << ',' << (m.skipped ? 1 : 0);
        if (m.skipped) {
            out << std::string(20, ',') << csv_text(m.note) << '\n';
            continue;
        }
        out << ',' << m.per_sample_ns(m.direct_us.p50) << ',' << m.per_sample_ns(m.direct_us.p99)
            << ',' << m.per_sample_ns(m.handler_us.p50) << ',' << m.per_sample_ns(m.handler_us.p99)
            << ',' << m.handler_us.p50 << ',' << m.handler_us.p99 << ',' << m.handler_us.max << ','
            << m.direct_us.p50 << ',' << m.direct_us.p99 << ',' << m.direct_us.max << ','
            << m.cold_us << ',' << m.load_ms << ',' << m.worker_mean_us << ','
            << m.engine_in_handler_us.p50 << ',' << m.overhead_us << ',' << m.overhead_pct << ','
            << m.round_trip_overhead_us << ',' << m.violations << ',' << m.inferences << ','
            << m.failed << ',' << csv_text(m.note) << '\n';
    }
}

void write_paced_csv(std::ostream& out, const std::vector<bench::PacedMeasurement>& rows) {
    out << "engine,handlers,block,seconds,inferences,late,late_pct,failed,process_us_p50,"
           "process_us_p99,process_us_max,callback_us_p99,latency_samples,worker_threads,"
           "host_overruns,steal_ticks\n";
    for (const auto& m : rows)
        out << m.engine << ',' << m.handlers << ',' << m.block << ',' << m.seconds << ','
            << m.inferences << ',' << m.late << ',' << m.late_pct << ',' << m.failed << ','
            << m.process_us.p50 << ',' << m.process_us.p99 << ',' << m.process_us.max << ','
            << m.callback_us.p99 << ',' << m.latency_samples << ',' << m.worker_threads << ','
            << m.host_overruns << ',' << m.steal_ticks << '\n';
}

int run_bench(const BenchOptions& o) {
    ModelConfig config;
    try {
        config = load_config_argument("bench", o.config);
    } catch (const ModelFileRefused& e) {
        std::fprintf(stderr, "legato bench: %s\n", e.what());
        return exit_engine;
    } catch (const Error& e) {
        std::fprintf(stderr, "legato bench: %s\n", e.what());
        return exit_input;
    }
    // The pool settings to compare on this machine without editing the config.
    if (o.workers > 0)
        config.context.worker_threads = o.workers;
    if (o.wake_strategy == "sleep")
        config.context.wake_strategy = WakeStrategy::sleep;
    else if (o.wake_strategy == "timer")
        config.context.wake_strategy = WakeStrategy::timer;
    else if (o.wake_strategy == "anticipate")
        config.context.wake_strategy = WakeStrategy::anticipate;
    else if (o.wake_strategy == "poll") {
        config.context.wake_strategy = WakeStrategy::poll;
        config.context.realtime_priority = false;  // SCHED_FIFO polling trips RT throttling
    }
    const std::vector<std::string> names = config.engine_names();
    std::vector<std::size_t> selected;
    if (o.engines == "all") {
        for (std::size_t i = 0; i < names.size(); ++i)
            selected.push_back(i);
    } else {
        for (const std::string& wanted : split(o.engines)) {
            const auto it = std::find(names.begin(), names.end(), wanted);
            if (it == names.end()) {
                std::fprintf(stderr,
                             "legato bench: --engines: unknown engine '%s'; %s offers %s (this "
                             "build contains %s)\n",
                             wanted.c_str(), o.config.c_str(), join(names).c_str(),
                             join(available_engines()).c_str());
                return exit_usage;
            }
            selected.push_back(static_cast<std::size_t>(it - names.begin()));
        }
        if (selected.empty()) {
            std::fprintf(stderr, "legato bench: --engines: no engine named; %s offers %s\n",
                         o.config.c_str(), join(names).c_str());
            return exit_usage;
        }
    }
    std::vector<std::string> engine_names;
    for (const std::size_t e : selected)
        engine_names.push_back(names[e]);

    const double sample_rate = config.sample_rate.value_or(48000.0);
    const std::string load_before = load_average();
    const std::uint64_t steal_before = tools::stolen_ticks();
    std::fprintf(stderr,
                 "legato bench: %s (%s), engines %s, %zu x %zu inferences per block; "
                 "load average %s, %u CPUs\n",
                 config.name.c_str(), o.config.c_str(), join(engine_names).c_str(), o.iterations,
                 o.repetitions, load_before.c_str(), std::thread::hardware_concurrency());

    bench::MeasureOptions measure;
    measure.iterations = o.iterations;
    measure.repetitions = o.repetitions;
    measure.sample_rate = sample_rate;
    if (config.context.realtime_priority)
        measure.realtime_priority = config.context.realtime_priority_level;
    measure.progress = [](const std::string& line) {
        std::fprintf(stderr, "  %s\n", line.c_str());
    };
    const auto context = Context::create(config.context);
    std::vector<bench::BlockMeasurement> rows;
    int status = exit_ok;
    for (const std::size_t e : selected) {
        for (const std::size_t block : o.blocks) {
            try {
                rows.push_back(bench::measure_block(config.inference, e, block, measure, context));
            } catch (const Error& error) {
                // A config that does not fit the model or this block (exit 3, naming the
                // file), or an engine that cannot run it (exit 4).
                const bool config_problem = dynamic_cast<const ConfigError*>(&error) != nullptr;
                bench::BlockMeasurement failed;
                failed.engine = names[e];
                failed.block = block;
                failed.skipped = true;
                failed.note = config_problem ? o.config + ": " + error.what() : error.what();
                rows.push_back(failed);
                if (status == exit_ok || status == exit_engine)
                    status = config_problem ? exit_input : exit_engine;
            }
            if (rows.back().skipped)
                std::fprintf(stderr, "    skipped: %s\n", rows.back().note.c_str());
            else if (rows.back().failed > 0)
                status = exit_failure;
        }
    }

    std::vector<bench::PacedMeasurement> paced;
    for (const std::size_t count : o.instances) {
        for (std::size_t k = 0; k <= selected.size(); ++k) {
            bench::PacedOptions options;
            options.handlers = count;
            options.block = o.paced_block;
            options.seconds = o.seconds;
            options.sample_rate = sample_rate;
            options.bypass = k == selected.size();  // the comparison run, last
            if (o.paced_max_inference_ms > 0.0)
                options.max_inference_time_ms = o.paced_max_inference_ms;
            const std::size_t e = options.bypass ? selected[0] : selected[k];
            std::fprintf(stderr, "  %zu handler%s paced at block %zu, %s, %.1f s\n", count,
                         count == 1 ? "" : "s", o.paced_block,
                         options.bypass ? "bypass" : names[e].c_str(), o.seconds);
            try {
                // A pool per run: handlers of one run share it, runs do not disturb each other.
                paced.push_back(bench::run_paced(config.inference, e, options,
                                                 Context::create(config.context)));
            } catch (const ConfigError& error) {
                std::fprintf(stderr, "    failed: %s: %s\n", o.config.c_str(), error.what());
                status = exit_input;
            } catch (const Error& error) {
                std::fprintf(stderr, "    failed: %s\n", error.what());
                status = exit_engine;
            }
        }
    }

    const std::string load_after = load_average();
    const std::uint64_t steal = tools::stolen_ticks() - steal_before;
    std::printf(
        "%s: runtime per inference and per sample, %zu x %zu inferences per block "
        "(load average before %s, after %s; hypervisor steal %llu ticks)\n",
        config.name.c_str(), o.iterations, o.repetitions, load_before.c_str(), load_after.c_str(),
        static_cast<unsigned long long>(steal));
    std::printf("%s\n", bench::table_header().c_str());
    for (const auto& m : rows)
        std::printf("%s\n", bench::table_row(m).c_str());
    if (!paced.empty()) {
        constexpr const char* strategies[] = {"sleep", "poll", "timer", "anticipate"};
        const char* strategy = strategies[static_cast<int>(config.context.wake_strategy)];
        std::printf(
            "\nhandlers paced in real time at block %zu, %.1f s each, workers wake: %s\n%s\n",
            o.paced_block, o.seconds, strategy, bench::paced_header().c_str());
        for (const auto& m : paced)
            std::printf("%s\n", bench::paced_row(m).c_str());
    }
    std::fflush(stdout);

    if (!o.csv.empty()) {
        write_file(o.csv, [&](std::ostream& out) { write_csv(out, rows); });
        if (!paced.empty()) {
            const fs::path path(o.csv);
            write_file((path.parent_path() / (path.stem().string() + "_instances.csv")).string(),
                       [&](std::ostream& out) { write_paced_csv(out, paced); });
        }
    }
    if (!o.json_file.empty()) {
        json document{{"model", config.name},
                      {"config", o.config},
                      {"sample_rate", sample_rate},
                      {"iterations", o.iterations},
                      {"repetitions", o.repetitions},
                      {"machine",
                       {{"cpus", std::thread::hardware_concurrency()},
                        {"load_average_before", load_before},
                        {"load_average_after", load_after},
                        {"steal_ticks", steal}}},
                      {"blocks", json::array()},
                      {"instances", json::array()}};
        for (const auto& m : rows)
            document["blocks"].push_back(block_json(m));
        for (const auto& m : paced)
            document["instances"].push_back(paced_json(m));
        write_file(o.json_file, [&](std::ostream& out) { out << document.dump(2) << '\n'; });
    }
    if (!o.plot.empty()) {
        // Model, machine and sample rate: a plot is read away from the run that drew it.
        const std::string title = config.name + ": runtime per sample over block size, " +
                                  std::to_string(o.iterations * o.repetitions) +
                                  " inferences per point\n" + machine_description() +
                                  ", sample rate " + sample_rate_text(sample_rate);
        const std::string error = draw_plot(o.plot, title, rows, engine_names, sample_rate);
        if (!error.empty()) {
            std::fprintf(stderr, "legato bench: --plot: %s\n", error.c_str());
            return exit_failure;
        }
    }
    const bool measured =
        std::any_of(rows.begin(), rows.end(), [](const auto& m) { return !m.skipped; });
    if (!measured && !rows.empty()) {
        std::fprintf(stderr, "legato bench: no block size could be measured\n");
        return status == exit_ok ? exit_engine : status;
    }
    return status;
}

}  // namespace

std::function<int()> add_bench_command(CLI::App& app) {
    auto options = std::make_shared<BenchOptions>();
    CLI::App* bench = app.add_subcommand(
        "bench",
        "Benchmark a model's engines over block sizes: runtime per sample directly and "
        "through Legato, overhead, warm-up, real-time violations; optionally N "
        "handlers paced in real time");
    bench
        ->add_option("config", options->config,
                     "Model config (JSON, docs/config.md), or a native model file (.nam, "
                     "RTNeural JSON) to derive one from")
        ->required();
    bench
        ->add_option("--engines", options->engines,
                     "'all' or a comma-separated list of the config's engines")
        ->capture_default_str();
    bench
        ->add_option("--blocks", options->blocks,
                     "Block sizes (= the model's hop) to measure, comma-separated")
        ->delimiter(',')
        ->check(CLI::Range(std::size_t{1}, std::size_t{1} << 16))
        ->capture_default_str();
    bench->add_option("--iterations", options->iterations, "Inferences per repetition")
        ->check(CLI::Range(std::size_t{1}, std::size_t{1000000}))
        ->capture_default_str();
    bench->add_option("--repetitions", options->repetitions, "Repetitions per block size")
        ->check(CLI::Range(std::size_t{1}, std::size_t{100000}))
        ->capture_default_str();
    bench
        ->add_option("--instances", options->instances,
                     "Handler counts to pace in real time (e.g. 1,4,16), each also with the "
                     "bypass backend; none by default")
        ->delimiter(',')
        ->check(CLI::Range(std::size_t{1}, std::size_t{256}));
    bench->add_option("--seconds", options->seconds, "Duration of each paced run")
        ->check(CLI::Range(0.1, 3600.0))
        ->capture_default_str();
    bench->add_option("--paced-block", options->paced_block, "Block size (= hop) of the paced runs")
        ->check(CLI::Range(std::size_t{1}, std::size_t{16384}))
        ->capture_default_str();
    bench
        ->add_option("--max-inference-ms", options->paced_max_inference_ms,
                     "Paced runs: the maximum inference time the latency is computed from, "
                     "instead of the config's (e.g. when one measured under load exceeds the "
                     "hop)")
        ->check(CLI::Range(0.001, 100000.0));
    bench
        ->add_option("--workers", options->workers,
                     "Worker threads of the pool, instead of the config's context")
        ->check(CLI::Range(std::size_t{1}, std::size_t{256}));
    bench
        ->add_option("--wake-strategy", options->wake_strategy,
                     "How idle workers wait, instead of the config's context")
        ->check(CLI::IsMember({"anticipate", "sleep", "timer", "poll"}));
    bench->add_option("--csv", options->csv,
                      "Write the per-block results as CSV (paced runs: FILE_instances.csv)");
    bench->add_option("--json", options->json_file, "Write all results as JSON");
    bench->add_option("--plot", options->plot,
                      "Draw runtime per sample over block size (PNG, with gnuplot; the script "
                      "is kept next to it as .gp)");
    return [options] { return run_bench(*options); };
}

}  // namespace legato::cli
