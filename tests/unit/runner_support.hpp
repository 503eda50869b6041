#pragma once
// Test support for external runners (legato/external_runner.hpp): the window model
// (stream_support.hpp) bound to a runner, and a runner thread that claims, runs and completes.

#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "legato/external_runner.hpp"
#include "rt/semaphore.hpp"
#include "stream_support.hpp"

namespace legato::test::runner_support {

inline std::atomic<int> worker_runs{0};  // run() calls: warm-up and relayed runs only
inline std::atomic<int> wakes{0};        // calls of the wake function
inline rt::Semaphore bell;

// The window model, bound to `runner` (-1: to none).
class BoundInstance final : public ModelInstance {
public:
    BoundInstance(const InstanceSetup& setup, int runner)
        : inputs_(setup.inputs.begin(), setup.inputs.end()),
          outputs_(setup.outputs.begin(), setup.outputs.end()),
          runner_(runner) {}
    void run() override {
        worker_runs.fetch_add(1);
        compute();
    }
    int runner() const noexcept override { return runner_; }
    void compute() { window_model(inputs_, outputs_); }

private:
    std::vector<TensorView> inputs_;
    std::vector<TensorView> outputs_;
    int runner_;
};

class BoundBackend final : public Backend {
public:
    explicit BoundBackend(int runner) : runner_(runner) {}
    std::string name() const override { return "bound"; }
    std::unique_ptr<ModelInstance> create_instance(const InstanceSetup& setup) override {
        return std::make_unique<BoundInstance>(setup, runner_);
    }

private:
    int runner_;
};

// The wake function: called on the audio thread, so only a semaphore post.
inline void wake(int) noexcept {
    wakes.fetch_add(1);
    bell.post();
}

// A runner thread for runner `id`: claims, runs the window model (or fails with `error`),
// completes, until destroyed.
class Runner {
public:
    explicit Runner(int id, std::string error = {}) : id_(id), error_(std::move(error)) {
        set_external_runner_wake(&wake);
        thread_ = std::thread([this] {
            while (!stop_.load()) {
                ExternalRunClaim claim;
                if (!claim_external_run(id_, claim)) {
                    bell.wait_for(std::chrono::milliseconds(1));
                    continue;
                }
                static_cast<BoundInstance*>(claim.model)->compute();
                if (hold_.load())
                    std::this_thread::sleep_for(std::chrono::milliseconds(100));
                claims_.fetch_add(1);  // before the finish, which lets process() return
                finish_external_run(claim, error_);
            }
        });
    }
    ~Runner() {
        stop_.store(true);
        bell.post();
        thread_.join();
    }
    Runner(const Runner&) = delete;
    Runner& operator=(const Runner&) = delete;
    int claims() const { return claims_.load(); }
    void hold_each_claim() { hold_.store(true); }

private:
    int id_;
    std::string error_;
    std::atomic<bool> stop_{false};
    std::atomic<bool> hold_{false};
    std::atomic<int> claims_{0};
    std::thread thread_;
};

}  // namespace legato::test::runner_support
