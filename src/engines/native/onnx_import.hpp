#pragma once
// The native engine's ONNX importer: a subset of ONNX (what torch.onnx.export writes for
// LSTM, GRU, causal Conv1D stacks and dense networks) mapped onto the streaming layers, so
// that the graph, which processes a whole sequence at once, runs frame by frame with its state
// carried between calls. Built only when libonnx-dev is found (LEGATO_NATIVE_ONNX); without it
// load_model() refuses ONNX files with a message saying so.

#include <memory>
#include <string>
#include <string_view>

#include "stream_model.hpp"

namespace legato::native {

/// [setup thread] Loads an ONNX ModelProto from its bytes. Throws legato::Error starting with
/// `where`: corrupt or truncated protobuf data; operators outside the subset (naming the node
/// and the op type); weights of the wrong shape (naming the node, the input and the expected
/// shape); non-finite weights; graphs that cannot stream (branches, non-causal padding,
/// bidirectional recurrences, slices along time).
std::unique_ptr<StreamModel> load_onnx(std::string_view bytes, const std::string& where);

/// [any thread] True if `bytes` start like a serialized ONNX ModelProto (its ir_version field,
/// which every exporter writes first). A hint for telling formats apart, not a validation.
inline bool looks_like_onnx(std::string_view bytes) noexcept {
    return bytes.size() >= 2 && bytes[0] == '\x08' && static_cast<unsigned char>(bytes[1]) < 0x80;
}

}  // namespace legato::native
