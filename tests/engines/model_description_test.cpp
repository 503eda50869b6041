// describe_model and Backend::describe: what each engine reads from the project's own models
// (models/README.md, make_models.py, make_tflite.py are the truth), and clear errors naming the
// file for files that cannot be described.

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <string>
#include <utility>
#include <vector>

#include "legato/legato.hpp"

namespace legato::test {
namespace {

namespace fs = std::filesystem;

const fs::path models_dir = LEGATO_TEST_MODELS_DIR;

// What a tensor must look like (dimension_names: only ONNX tensors with a named dimension).
struct Expected {
    std::string name;
    std::vector<std::int64_t> shape;
    std::string element_type;
    std::vector<std::string> dimension_names = {};
};

[[maybe_unused]] void expect_tensors(const std::vector<TensorDescription>& actual,
                                     const std::vector<Expected>& expected, bool shape_known,
                                     const char* kind) {
    ASSERT_EQ(actual.size(), expected.size()) << kind << "s";
    for (std::size_t i = 0; i < expected.size(); ++i) {
        SCOPED_TRACE(std::string(kind) + " " + std::to_string(i));
        EXPECT_EQ(actual[i].name, expected[i].name);
        EXPECT_EQ(actual[i].shape_known, shape_known);
        EXPECT_EQ(actual[i].shape, expected[i].shape);
        EXPECT_EQ(actual[i].element_type, expected[i].element_type);
        EXPECT_EQ(actual[i].dimension_names, expected[i].dimension_names);
    }
}

std::string error_of(const std::function<void()>& action) {
    try {
        action();
    } catch (const Error& e) {
        return e.what();
    }
    return "no error";
}

[[maybe_unused]] bool contains_note(const ModelDescription& description, const std::string& text) {
    for (const auto& note : description.notes)
        if (note.find(text) != std::string::npos)
            return true;
    return false;
}

// A temporary directory per test, removed afterwards.
class TempDir {
public:
    TempDir() {
        const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
        path_ =
            fs::temp_directory_path() / ("legato_describe_" + std::string(info->name()) + "_" +
                                         std::to_string(reinterpret_cast<std::uintptr_t>(this)));
        fs::create_directories(path_);
    }
    ~TempDir() {
        std::error_code ignored;
        fs::remove_all(path_, ignored);
    }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    const fs::path& path() const { return path_; }

    // The first `fraction` of `source`'s bytes, under the same file name.
    fs::path truncated_copy(const fs::path& source, double fraction) const {
        std::ifstream in(source, std::ios::binary);
        const std::vector<char> bytes((std::istreambuf_iterator<char>(in)),
                                      std::istreambuf_iterator<char>());
        const fs::path target = path_ / source.filename();
        std::ofstream out(target, std::ios::binary);
        out.write(bytes.data(),
                  static_cast<std::streamsize>(static_cast<double>(bytes.size()) * fraction));
        return target;
    }

private:
    fs::path path_;
};

// --- Errors every build gives -------------------------------------------------------------

TEST(DescribeModel, UnknownExtensionNamesTheFileAndTheKnownOnes) {
    TempDir dir;
    const fs::path file = dir.path() / "amp.h5";
    std::ofstream(file) << "not a model";
    const std::string message = error_of([&] { describe_model(file); });
    EXPECT_NE(message.find(file.string() + ": unknown model file extension '.h5'"),
              std::string::npos)
        << message;
    EXPECT_NE(message.find(".onnx"), std::string::npos) << message;
    EXPECT_NE(message.find(".tflite"), std::string::npos) << message;
    EXPECT_NE(error_of([&] { describe_model(dir.path() / "no_extension"); }).find("''"),
              std::string::npos);
}

TEST(DescribeModel, MissingFileIsNamed) {
    for (const char* name : {"missing.onnx", "missing.pt", "missing.tflite"}) {
        const fs::path file = models_dir / name;
        EXPECT_EQ(error_of([&] { describe_model(file); }),
                  "model file not found: " + file.string());
    }
}

TEST(DescribeModel, DirectoryIsNotAModel) {
    TempDir dir;
    const fs::path folder = dir.path() / "folder.onnx";
    fs::create_directories(folder);
    EXPECT_EQ(error_of([&] { describe_model(folder); }),
              "model path is not a regular file: " + folder.string());
}

TEST(DescribeModel, ChoosesTheEngineByExtension) {
    EXPECT_EQ(engine_for_model_file("a/b.onnx"), "onnxruntime");
    EXPECT_EQ(engine_for_model_file("b.ORT"), "onnxruntime");
    EXPECT_EQ(engine_for_model_file("b.pt"), "libtorch");
    EXPECT_EQ(engine_for_model_file("b.pth"), "libtorch");
    EXPECT_EQ(engine_for_model_file("b.torchscript"), "libtorch");
    EXPECT_EQ(engine_for_model_file("b.TFLite"), "tflite");
    EXPECT_EQ(engine_for_model_file("b.onnx.txt"), "");
    EXPECT_EQ(engine_for_model_file("onnx"), "");
}

TEST(DescribeModel, EnginesWithoutModelFilesCannotDescribe) {
    EXPECT_EQ(error_of([] { make_bypass_backend()->describe(ModelSource::file("x.onnx")); }),
              "bypass: cannot describe models");
}

TEST(DescribeModel, EngineNotBuiltInIsNamed) {
    for (const auto& [engine, file] : {std::pair{"onnxruntime", "cnn_past.onnx"},
                                       {"libtorch", "cnn_past.pt"},
                                       {"tflite", "cnn_past.tflite"}}) {
        const auto names = available_engines();
        if (std::find(names.begin(), names.end(), engine) != names.end()) {
            continue;
        }
        const std::string message = error_of([&] { describe_model(models_dir / file); });
        EXPECT_NE(message.find((models_dir / file).string() + ": engine '" + engine +
                               "' is not built into this Legato"),
                  std::string::npos)
            << message;
    }
}

// --- ONNX Runtime -------------------------------------------------------------------------

#if LEGATO_HAS_ONNXRUNTIME

TEST(DescribeOnnx, CnnPastHasSymbolicTimeDimensions) {
    const ModelDescription d = describe_model(models_dir / "cnn_past.onnx");
    EXPECT_EQ(d.engine, "onnxruntime");
    EXPECT_NE(d.format_details.find("ONNX model from pytorch, graph 'torch_jit'"),
              std::string::npos)
        << d.format_details;
    EXPECT_NE(d.format_details.find("ONNX Runtime 1."), std::string::npos) << d.format_details;
    expect_tensors(d.inputs, {{"audio_in", {1, 1, -1}, "float32", {"", "", "window"}}}, true,
                   "input");
    expect_tensors(d.outputs, {{"audio_out", {1, 1, -1}, "float32", {"", "", "hop"}}}, true,
                   "output");
    EXPECT_TRUE(d.notes.empty()) << d.notes.front();
}

TEST(DescribeOnnx, GainHasAParameterInputAndAPeakOutput) {
    const ModelDescription d = describe_model(models_dir / "gain.onnx");
    expect_tensors(d.inputs,
                   {{"audio_in", {1, 1, -1}, "float32", {"", "", "hop"}}, {"gain", {1}, "float32"}},
                   true, "input");
    // The file declares peak as [ReduceMaxpeak_dim_0]; ONNX Runtime's shape inference knows it
    // is [1], and that is what Legato's config is checked against.
    expect_tensors(
        d.outputs,
        {{"audio_out", {1, 1, -1}, "float32", {"", "", "hop"}}, {"peak", {1}, "float32"}}, true,
        "output");
}

TEST(DescribeOnnx, LstmStateStereoAndHybrid) {
    ModelDescription d = describe_model(models_dir / "lstm_state.onnx");
    expect_tensors(d.inputs,
                   {{"audio_in", {1, -1, 1}, "float32", {"", "hop", ""}},
                    {"h_in", {1, 1, 16}, "float32"},
                    {"c_in", {1, 1, 16}, "float32"}},
                   true, "input");
    expect_tensors(d.outputs,
                   {{"audio_out", {1, -1, 1}, "float32", {"", "hop", ""}},
                    {"h_out", {1, 1, 16}, "float32"},
                    {"c_out", {1, 1, 16}, "float32"}},
                   true, "output");
    d = describe_model(models_dir / "stereo.onnx");
    expect_tensors(d.inputs, {{"audio_in", {1, 2, -1}, "float32", {"", "", "window"}}}, true,
                   "input");
    expect_tensors(d.outputs, {{"audio_out", {1, 2, -1}, "float32", {"", "", "hop"}}}, true,
                   "output");
    d = describe_model(models_dir / "hybrid.onnx");
    expect_tensors(d.inputs, {{"windows", {-1, 1, 32}, "float32", {"batch", "", ""}}}, true,
                   "input");
    expect_tensors(d.outputs, {{"audio_out", {-1, 1}, "float32", {"batch", ""}}}, true, "output");
}

TEST(DescribeOnnx, NonFloatTensorsAreDescribedWithANote) {
    const ModelDescription d = describe_model(models_dir / "bad" / "int64_input.onnx");
    expect_tensors(d.inputs, {{"audio_in", {1, 1, 256}, "int64"}}, true, "input");
    expect_tensors(d.outputs, {{"audio_out", {1, 1, 256}, "int64"}}, true, "output");
    EXPECT_TRUE(contains_note(d, "input 'audio_in' is int64: Legato exchanges float32 tensors"));
    EXPECT_TRUE(contains_note(d, "output 'audio_out' is int64"));
}

TEST(DescribeOnnx, RefusesWhatItCannotLoad) {
    const fs::path unknown = models_dir / "bad" / "unknown_operator.onnx";
    std::string message = error_of([&] { describe_model(unknown); });
    EXPECT_NE(
        message.find("ONNX model " + unknown.string() + " uses an operator this ONNX Runtime"),
        std::string::npos)
        << message;
    EXPECT_NE(message.find("Warble"), std::string::npos) << message;

    TempDir dir;
    const fs::path truncated = dir.truncated_copy(models_dir / "cnn_past.onnx", 0.5);
    message = error_of([&] { describe_model(truncated); });
    EXPECT_NE(message.find("ONNX Runtime could not load model " + truncated.string()),
              std::string::npos)
        << message;
    const fs::path empty = dir.truncated_copy(models_dir / "gain.onnx", 0.0);
    EXPECT_EQ(error_of([&] { describe_model(empty); }), "model file is empty: " + empty.string());
    EXPECT_NE(error_of([&] {
                  describe_model(models_dir / "cnn_past.onnx", "forward");
              }).find("ONNX models have one graph and no entry points"),
              std::string::npos);
}

#endif

// --- TensorFlow Lite ----------------------------------------------------------------------

#if LEGATO_HAS_TFLITE

// The files are made for hop 256 (models/README.md): concrete, channels-last shapes.
TEST(DescribeTflite, ConcreteChannelsLastShapes) {
    ModelDescription d = describe_model(models_dir / "cnn_past.tflite");
    EXPECT_EQ(d.engine, "tflite");
    EXPECT_NE(d.format_details.find("TensorFlow Lite 2."), std::string::npos) << d.format_details;
    expect_tensors(d.inputs, {{"audio_in", {1, 1, 296, 1}, "float32"}}, true, "input");
    expect_tensors(d.outputs, {{"audio_out", {1, 1, 256, 1}, "float32"}}, true, "output");
    EXPECT_TRUE(contains_note(d, "resizes the inputs to the config's shapes"));

    d = describe_model(models_dir / "gain.tflite");
    expect_tensors(d.inputs, {{"audio_in", {1, 256, 1}, "float32"}, {"gain", {1}, "float32"}}, true,
                   "input");
    expect_tensors(d.outputs, {{"audio_out", {1, 256, 1}, "float32"}, {"peak", {1}, "float32"}},
                   true, "output");

    d = describe_model(models_dir / "stereo.tflite");
    expect_tensors(d.inputs, {{"audio_in", {1, 1, 258, 2}, "float32"}}, true, "input");
    expect_tensors(d.outputs, {{"audio_out", {1, 1, 256, 2}, "float32"}}, true, "output");

    d = describe_model(models_dir / "hybrid.tflite");
    expect_tensors(d.inputs, {{"windows", {64, 32, 1}, "float32"}}, true, "input");
    expect_tensors(d.outputs, {{"audio_out", {64, 1}, "float32"}}, true, "output");

    // The LSTM state lives in variable tensors, which are neither inputs nor outputs.
    d = describe_model(models_dir / "lstm_internal.tflite");
    expect_tensors(d.inputs, {{"audio_in", {1, 256, 1}, "float32"}}, true, "input");
    expect_tensors(d.outputs, {{"audio_out", {1, 256, 1}, "float32"}}, true, "output");
}

TEST(DescribeTflite, NonFloatTensorsAreDescribedWithANote) {
    const ModelDescription d = describe_model(models_dir / "bad" / "int32_input.tflite");
    expect_tensors(d.inputs, {{"audio_in", {1, 256, 1}, "int32"}}, true, "input");
    expect_tensors(d.outputs, {{"audio_out", {1, 256, 1}, "int32"}}, true, "output");
    EXPECT_TRUE(contains_note(d, "input 'audio_in' is int32: Legato exchanges float32 tensors"));
}

TEST(DescribeTflite, RefusesWhatItCannotLoad) {
    const fs::path custom = models_dir / "bad" / "custom_operator.tflite";
    std::string message = error_of([&] { describe_model(custom); });
    EXPECT_NE(message.find(custom.string() + ": the model uses a custom operator"),
              std::string::npos)
        << message;
    const fs::path newer = models_dir / "bad" / "newer_operator.tflite";
    message = error_of([&] { describe_model(newer); });
    EXPECT_NE(message.find(newer.string() + ": the model needs a newer TensorFlow Lite"),
              std::string::npos)
        << message;

    // Cut inside the flatbuffer: the project's own structure check refuses it before TFLite
    // reads it (TFLite 2.2 would read out of bounds).
    TempDir dir;
    const fs::path truncated = dir.truncated_copy(models_dir / "hybrid.tflite", 0.6);
    message = error_of([&] { describe_model(truncated); });
    EXPECT_NE(message.find("not a valid TensorFlow Lite model: "), std::string::npos) << message;
    EXPECT_NE(message.find(truncated.string()), std::string::npos) << message;
    const fs::path onnx_renamed = dir.path() / "renamed.tflite";
    fs::copy_file(models_dir / "gain.onnx", onnx_renamed);
    EXPECT_EQ(
        error_of([&] { describe_model(onnx_renamed); }),
        "not a TensorFlow Lite model (no 'TFL3' identifier at byte 4): " + onnx_renamed.string());
}

#endif

// --- LibTorch -----------------------------------------------------------------------------

#if LEGATO_HAS_LIBTORCH

// TorchScript keeps argument names and types but no shapes.
TEST(DescribeLibTorch, ArgumentsByNameOutputsByPosition) {
    ModelDescription d = describe_model(models_dir / "cnn_past.pt");
    EXPECT_EQ(d.engine, "libtorch");
    EXPECT_EQ(d.format_details, "TorchScript method forward(Tensor x) -> Tensor");
    expect_tensors(d.inputs, {{"x", {}, "Tensor"}}, false, "input");
    expect_tensors(d.outputs, {{"output", {}, "Tensor"}}, false, "output");
    EXPECT_TRUE(contains_note(d, "TorchScript keeps no tensor shapes"));

    d = describe_model(models_dir / "gain.pt");
    EXPECT_EQ(d.format_details,
              "TorchScript method forward(Tensor x, Tensor gain) -> Tuple[Tensor, Tensor]");
    expect_tensors(d.inputs, {{"x", {}, "Tensor"}, {"gain", {}, "Tensor"}}, false, "input");
    expect_tensors(d.outputs, {{"output_0", {}, "Tensor"}, {"output_1", {}, "Tensor"}}, false,
                   "output");

    d = describe_model(models_dir / "lstm_state.pt");
    expect_tensors(d.inputs, {{"x", {}, "Tensor"}, {"h", {}, "Tensor"}, {"c", {}, "Tensor"}}, false,
                   "input");
    expect_tensors(
        d.outputs,
        {{"output_0", {}, "Tensor"}, {"output_1", {}, "Tensor"}, {"output_2", {}, "Tensor"}}, false,
        "output");
    EXPECT_FALSE(contains_note(d, "buffers"));
}

TEST(DescribeLibTorch, BuffersSuggestInternalState) {
    const ModelDescription d = describe_model(models_dir / "lstm_internal.pt");
    expect_tensors(d.inputs, {{"x", {}, "Tensor"}}, false, "input");
    expect_tensors(d.outputs, {{"output", {}, "Tensor"}}, false, "output");
    EXPECT_TRUE(contains_note(d, "the module has buffers (h [1, 1, 16], c [1, 1, 16])"));
}

TEST(DescribeLibTorch, EntryPoints) {
    const fs::path methods = models_dir / "methods.pt";
    ModelDescription d = describe_model(methods);
    EXPECT_TRUE(contains_note(d, "methods (entry points): forward, "));
    d = describe_model(methods, "encode");
    EXPECT_EQ(d.format_details, "TorchScript method encode(Tensor x) -> Tuple[Tensor, Tensor]");
    expect_tensors(d.outputs, {{"output_0", {}, "Tensor"}, {"output_1", {}, "Tensor"}}, false,
                   "output");
    d = describe_model(methods, "decode");
    expect_tensors(d.outputs, {{"outputs", {}, "List[Tensor]"}}, false, "output");
    EXPECT_TRUE(contains_note(d, "known only when it runs"));
    const std::string message = error_of([&] { describe_model(methods, "transcode"); });
    EXPECT_NE(message.find(methods.string() + " has no method 'transcode'; its methods: "),
              std::string::npos)
        << message;
}

TEST(DescribeLibTorch, RefusesWhatItCannotLoad) {
    TempDir dir;
    const fs::path truncated = dir.truncated_copy(models_dir / "cnn_past.pt", 0.7);
    std::string message = error_of([&] { describe_model(truncated); });
    EXPECT_NE(message.find("cannot load " + truncated.string() + " as TorchScript: "),
              std::string::npos)
        << message;
    const fs::path onnx_renamed = dir.path() / "renamed.pt";
    fs::copy_file(models_dir / "gain.onnx", onnx_renamed);
    message = error_of([&] { describe_model(onnx_renamed); });
    EXPECT_NE(message.find("cannot load " + onnx_renamed.string() + " as TorchScript: "),
              std::string::npos)
        << message;
    const fs::path empty = dir.truncated_copy(models_dir / "gain.pt", 0.0);
    EXPECT_NE(
        error_of([&] { describe_model(empty); }).find("model file is empty: " + empty.string()),
        std::string::npos);
}

#endif

}  // namespace
}  // namespace legato::test
