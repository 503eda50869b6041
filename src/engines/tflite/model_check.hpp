#pragma once
// Structural checks of a .tflite flatbuffer that TensorFlow Lite 2.2 does not make before
// trusting the model: it dereferences absent tables (a model without subgraphs crashes
// TfLiteInterpreterCreate), indexes tensors and buffers without bounds checks and divides by
// operator parameters and tensor dimensions it never checks for zero. Found by
// fuzzing (fuzz/fuzz_model.cpp); every rule here has a regression input in
// fuzz/regressions/tflite/.

#include <cstddef>
#include <cstdint>
#include <string>

namespace legato::tflite_check {

/// [setup thread] Empty if `data` is a well-formed TFLite model TensorFlow Lite 2.2 can be
/// given safely; otherwise what is wrong, e.g. "subgraph 0, operator 3: input tensor 17 does
/// not exist (the subgraph has 12 tensors)".
std::string model_problem(const std::uint8_t* data, std::size_t size);

}  // namespace legato::tflite_check
