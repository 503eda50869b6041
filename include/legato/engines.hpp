#pragma once
// Engines by name: which ones this build of Legato contains, and making one from its name
// (as configuration files do).

#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "legato/backend.hpp"
#include "legato/build_config.hpp"

namespace legato {

/// [any thread] The engines this build contains, by the names Backend::name() returns:
/// "bypass" and "native" always, then "onnxruntime", "libtorch", "tflite" if built in. ("custom" backends
/// need a function, so they are made with make_custom_backend.)
std::vector<std::string> available_engines();

/// [setup thread] A backend for `engine` with default options. Throws legato::Error naming the
/// engine and the available ones if it is unknown or not built in.
std::shared_ptr<Backend> make_backend(std::string_view engine);

/// [setup thread] The inputs and outputs a model file declares, read by the engine its
/// extension names: .onnx/.ort -> "onnxruntime", .pt/.pth/.torchscript -> "libtorch",
/// .tflite -> "tflite", .nam -> "native" (case-insensitive). `entry_point` as in InstanceSetup (TorchScript
/// methods). Throws legato::Error naming the file for an unknown extension, a missing file, an
/// engine not built in, or a model the engine refuses.
ModelDescription describe_model(const std::filesystem::path& file,
                                std::string_view entry_point = {});

/// [any thread] The engine describe_model() uses for `file`'s extension, or "" if none does.
std::string engine_for_model_file(const std::filesystem::path& file);

/// [setup thread] Why describe_model() refuses `file` before any engine reads it (an extension
/// no engine reads, a missing file, not a regular file), or "" if an engine may try: the
/// mistakes in naming a model file, as opposed to an engine's verdict on its contents.
std::string model_file_problem(const std::filesystem::path& file);

}  // namespace legato
