#pragma once
// Loading a native model from a ModelSource (a file or bytes): RTNeural JSON, NAM or ONNX, told
// apart by content (ONNX also by its .onnx extension).

#include <memory>

#include "legato/model_description.hpp"
#include "legato/model_source.hpp"
#include "nam_file.hpp"
#include "stream_model.hpp"

namespace legato::native {

/// [setup thread] Reads and loads the model (a NAM file as `nam` says). Throws legato::Error
/// naming the file (or "<N bytes in memory>") and the problem: unreadable, neither format, or
/// the importer's message.
std::unique_ptr<StreamModel> load_model(const ModelSource& source, const NamOptions& nam = {});

/// [setup thread] The model's tensors for people writing its config (legato info).
ModelDescription description(const StreamModel& model);

}  // namespace legato::native
