// The native engine's ONNX importer: the project's own models (models/make_native.py: PyTorch
// LSTM, GRU, causal Conv1D stack and a dense network exported by torch.onnx.export) stream
// like PyTorch at every block size, and broken files (made here from those models with ONNX's
// protobuf classes) end in errors that name the node, the input and what was expected.

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>

#include "engines/native/native_model_file.hpp"
#include "legato/legato.hpp"
#include "native_cases.hpp"
#include "npy.hpp"

#ifdef LEGATO_NATIVE_ONNX
#include <onnx/onnx_pb.h>
#endif

namespace legato::test {
namespace {

const std::filesystem::path models = LEGATO_TEST_MODELS_DIR;

std::filesystem::path onnx_file(const std::string& name) {
    return models / "native" / (name + ".onnx");
}

#ifdef LEGATO_NATIVE_ONNX

class OnnxImport : public ::testing::TestWithParam<std::string> {};

TEST_P(OnnxImport, StreamsLikePyTorchAtEveryBlockSize) {
    const auto input = read_npy(models / "stream_mono.npy").data;
    const auto reference = read_npy(models / "native" / (GetParam() + ".out.npy")).data;
    auto model = native::load_model(ModelSource::file(onnx_file(GetParam())));
    EXPECT_EQ(model->info().format, "onnx");
    EXPECT_EQ(model->input_size(), 1u);
    EXPECT_EQ(model->output_size(), 1u);
    double worst = 0.0;
    for (const std::size_t block : native_cases::block_sizes()) {
        const auto out = native_cases::stream(*model, input, block);
        std::size_t at = 0;
        const double error = native_cases::max_abs_error(out, reference, &at);
        EXPECT_LE(error, 2e-6) << "block " << block << " (0 = varying), sample " << at;
        worst = std::max(worst, error);
    }
    std::printf("onnx %s: max error %.2g over all block sizes\n", GetParam().c_str(), worst);
}

TEST_P(OnnxImport, BytesInMemoryAreRecognizedByContent) {
    const std::string text = native_cases::read_text(onnx_file(GetParam()));
    auto model = native::load_model(
        ModelSource::memory(std::vector<std::uint8_t>(text.begin(), text.end())));
    EXPECT_EQ(model->info().format, "onnx");
}

INSTANTIATE_TEST_SUITE_P(Models, OnnxImport,
                         ::testing::Values("lstm", "gru", "conv", "dense", "lstm2"));

TEST(OnnxImport, ArchitecturesMapOntoTheStreamingLayers) {
    const auto arch = [](const char* name) {
        return native::load_model(ModelSource::file(onnx_file(name)))->info().architecture;
    };
    EXPECT_EQ(arch("lstm"), "LSTM(1->8) -> Dense(8->1)");
    EXPECT_EQ(arch("gru"), "GRU(1->8) -> Dense(8->1)");
    EXPECT_EQ(arch("lstm2"), "LSTM(1->4) -> LSTM(4->4) -> Dense(4->1)");
    // BatchNorm1d arrives folded into the second Conv by the exporter.
    EXPECT_EQ(arch("conv"),
              "Conv1D(1->4)[k3 d2] -> tanh -> Conv1D(4->4)[k3 d4 g2] -> PReLU(4) -> Dense(4->1)");
    // The Slice [:, :, 1:3] folds into the last Linear (one Dense(4->1)).
    EXPECT_EQ(arch("dense"),
              "Dense(1->8) -> leaky_relu -> Dense(8->6) -> elu -> Dense(6->4) -> sigmoid -> "
              "Dense(4->1)");
    EXPECT_EQ(native::load_model(ModelSource::file(onnx_file("conv")))->info().receptive_field,
              1u + 4u + 8u);
}

TEST(OnnxImport, ANativeConfigRunsItInline) {
    const auto input = read_npy(models / "stream_mono.npy").data;
    const auto reference = read_npy(models / "native" / "gru.out.npy").data;
    const native_cases::InlineRun run =
        native_cases::stream_inline(ModelSource::file(onnx_file("gru")), input);
    ASSERT_TRUE(run.ran_inline);
    EXPECT_LE(native_cases::max_abs_error(run.output, reference), 2e-6);
}

// A copy of one of the project's ONNX models, changed by `edit` and loaded from a file; returns
// the error message ("" if it loaded).
template <typename Edit>
std::string load_edited(const std::string& name, Edit edit, std::filesystem::path* written) {
    onnx::ModelProto model;
    const std::string text = native_cases::read_text(onnx_file(name));
    EXPECT_TRUE(model.ParseFromString(text));
    edit(*model.mutable_graph());
    const auto path = std::filesystem::path(::testing::TempDir()) / ("edited_" + name + ".onnx");
    {
        std::ofstream file(path, std::ios::binary);
        model.SerializeToOstream(&file);
    }
    if (written != nullptr)
        *written = path;
    try {
        native::load_model(ModelSource::file(path));
    } catch (const Error& e) {
        return e.what();
    }
    return "";
}

onnx::NodeProto& node_named(onnx::GraphProto& graph, const std::string& name) {
    for (auto& node : *graph.mutable_node())
        if (node.name() == name)
            return node;
    ADD_FAILURE() << "no node " << name;
    return *graph.mutable_node(0);
}

onnx::TensorProto& initializer_named(onnx::GraphProto& graph, const std::string& name) {
    for (auto& t : *graph.mutable_initializer())
        if (t.name() == name)
            return t;
    ADD_FAILURE() << "no initializer " << name;
    return *graph.mutable_initializer(0);
}

TEST(OnnxImportErrors, AnUnsupportedOperatorNamesTheNodeAndOpType) {
    std::filesystem::path path;
    const std::string message = load_edited(
        "conv", [](onnx::GraphProto& g) { node_named(g, "/Tanh").set_op_type("Cos"); }, &path);
    EXPECT_NE(message.find(path.string()), std::string::npos) << message;
    EXPECT_NE(message.find("node '/Tanh' (Cos): operator not supported"), std::string::npos)
        << message;
}

TEST(OnnxImportErrors, AWrongWeightShapeNamesTheLayerTheInputAndTheExpectedShape) {
    const std::string message = load_edited(
        "lstm",
        [](onnx::GraphProto& g) {
            // R of LSTM(1->8) is [1, 32, 8]; make it [1, 32, 7].
            const std::string r = node_named(g, "/cell/LSTM").input(2);
            onnx::TensorProto& t = initializer_named(g, r);
            t.set_dims(2, 7);
            t.set_raw_data(t.raw_data().substr(0, 32 * 7 * 4));
        },
        nullptr);
    EXPECT_NE(message.find("node '/cell/LSTM' (LSTM): input R '"), std::string::npos) << message;
    EXPECT_NE(message.find("has shape [1, 32, 7], expected [1, 32, 8]"), std::string::npos)
        << message;
}

TEST(OnnxImportErrors, ADenseWeightOfTheWrongSizeSaysWhatItExpected) {
    const std::string message = load_edited(
        "dense",
        [](onnx::GraphProto& g) {
            onnx::TensorProto& t = initializer_named(g, node_named(g, "/b/MatMul").input(1));
            t.set_dims(0, 7);  // [8, 6] -> [7, 6]
            t.set_raw_data(t.raw_data().substr(0, 7 * 6 * 4));
        },
        nullptr);
    EXPECT_NE(message.find("node '/b/MatMul' (MatMul): input B '"), std::string::npos) << message;
    EXPECT_NE(message.find("expected [8, N] (8 input features)"), std::string::npos) << message;
}

TEST(OnnxImportErrors, NonFiniteWeightsAreRefused) {
    for (const float bad : {std::nanf(""), INFINITY}) {
        const std::string message = load_edited(
            "gru",
            [bad](onnx::GraphProto& g) {
                onnx::TensorProto& t = initializer_named(g, node_named(g, "/cell/GRU").input(1));
                std::string raw = t.raw_data();
                std::memcpy(raw.data() + 4 * 5, &bad, 4);
                t.set_raw_data(raw);
            },
            nullptr);
        EXPECT_NE(message.find("node '/cell/GRU' (GRU): input W '"), std::string::npos) << message;
        EXPECT_NE(message.find("holds a non-finite value"), std::string::npos) << message;
        EXPECT_NE(message.find("at index 5"), std::string::npos) << message;
    }
}

TEST(OnnxImportErrors, PaddingThatIsNotCausalIsRefused) {
    const std::string message = load_edited(
        "conv",
        [](onnx::GraphProto& g) {
            auto& conv = node_named(g, "/a/Conv");
            for (auto& a : *conv.mutable_attribute())
                if (a.name() == "dilations")
                    a.set_ints(0, 3);  // needs 6 frames of left padding; the Pad gives 4
        },
        nullptr);
    EXPECT_NE(message.find("node '/a/Conv' (Conv): has 4 frames of left padding"),
              std::string::npos)
        << message;
    EXPECT_NE(message.find("needs (kernel_size - 1) x dilation = 6"), std::string::npos) << message;
}

TEST(OnnxImportErrors, ABidirectionalRecurrenceIsRefused) {
    const std::string message = load_edited(
        "lstm",
        [](onnx::GraphProto& g) {
            auto* a = node_named(g, "/cell/LSTM").add_attribute();
            a->set_name("direction");
            a->set_type(onnx::AttributeProto::STRING);
            a->set_s("bidirectional");
        },
        nullptr);
    EXPECT_NE(message.find("node '/cell/LSTM' (LSTM): direction 'bidirectional' does not stream"),
              std::string::npos)
        << message;
}

TEST(OnnxImportErrors, ATruncatedFileIsACorruptProtobufNamingTheFile) {
    const std::string text = native_cases::read_text(onnx_file("lstm"));
    const auto path = std::filesystem::path(::testing::TempDir()) / "truncated.onnx";
    {
        std::ofstream file(path, std::ios::binary);
        file.write(text.data(), static_cast<std::streamsize>(text.size() / 2));
    }
    try {
        native::load_model(ModelSource::file(path));
        FAIL() << "loaded a truncated file";
    } catch (const Error& e) {
        const std::string message = e.what();
        EXPECT_NE(message.find(path.string() + ": not a valid ONNX model: its protobuf data"),
                  std::string::npos)
            << message;
        EXPECT_NE(message.find("corrupt or truncated"), std::string::npos) << message;
    }
}

// A model built here: one float input [time, features] (time the dynamic axis), opset 13.
struct SmallGraph {
    onnx::ModelProto model;
    onnx::GraphProto* graph = model.mutable_graph();

    explicit SmallGraph(std::int64_t features) {
        model.set_ir_version(8);
        model.add_opset_import()->set_version(13);
        auto* input = graph->add_input();
        input->set_name("x");
        auto* type = input->mutable_type()->mutable_tensor_type();
        type->set_elem_type(onnx::TensorProto::FLOAT);
        type->mutable_shape()->add_dim()->set_dim_param("time");
        type->mutable_shape()->add_dim()->set_dim_value(features);
    }
    void weights(const std::string& name, std::vector<std::int64_t> dims,
                 const std::vector<float>& values) {
        auto* t = graph->add_initializer();
        t->set_name(name);
        t->set_data_type(onnx::TensorProto::FLOAT);
        for (const auto d : dims)
            t->add_dims(d);
        for (const float v : values)
            t->add_float_data(v);
    }
    onnx::NodeProto* node(const std::string& op, std::vector<std::string> inputs,
                          const std::string& output) {
        auto* n = graph->add_node();
        n->set_name(op + "_" + output);
        n->set_op_type(op);
        for (const auto& i : inputs)
            n->add_input(i);
        n->add_output(output);
        return n;
    }
    std::unique_ptr<native::StreamModel> load(const std::string& output) {
        graph->add_output()->set_name(output);
        const std::string bytes = model.SerializeAsString();
        return native::load_model(
            ModelSource::memory(std::vector<std::uint8_t>(bytes.begin(), bytes.end())));
    }
};

TEST(OnnxImport, GemmWithTransposedWeightsAndSoftmaxOverFeatures) {
    // y = softmax(x W^T + c), as torch.onnx.export writes Linear + Softmax on [time, 3].
    SmallGraph g(3);
    const std::vector<float> w = {0.5f, -1.0f, 0.25f, 2.0f, 0.0f, -0.5f};  // [2, 3]
    g.weights("W", {2, 3}, w);
    g.weights("c", {2}, {0.1f, -0.2f});
    auto* gemm = g.node("Gemm", {"x", "W", "c"}, "h");
    auto* trans_b = gemm->add_attribute();
    trans_b->set_name("transB");
    trans_b->set_type(onnx::AttributeProto::INT);
    trans_b->set_i(1);
    g.node("Softmax", {"h"}, "y");
    auto model = g.load("y");
    EXPECT_EQ(model->info().architecture, "Dense(3->2) -> softmax");
    const std::vector<float> x = {1.0f, 2.0f, 3.0f, -1.0f, 0.5f, 0.0f};
    std::vector<float> y(4);
    model->process(x.data(), y.data(), 2);
    for (std::size_t t = 0; t < 2; ++t) {
        double h[2];
        for (std::size_t r = 0; r < 2; ++r)
            h[r] = (r == 0 ? 0.1 : -0.2) + w[r * 3] * x[t * 3] + w[r * 3 + 1] * x[t * 3 + 1] +
                   w[r * 3 + 2] * x[t * 3 + 2];
        const double e0 = std::exp(h[0]), e1 = std::exp(h[1]);
        EXPECT_NEAR(y[t * 2], e0 / (e0 + e1), 1e-6) << "frame " << t;
        EXPECT_NEAR(y[t * 2 + 1], e1 / (e0 + e1), 1e-6) << "frame " << t;
    }
}

TEST(OnnxImportErrors, ABranchIsRefusedNamingTheNode) {
    // A residual connection: y = x + tanh(x).
    SmallGraph g(2);
    g.node("Tanh", {"x"}, "t");
    g.node("Add", {"t", "x"}, "y");
    try {
        g.load("y");
        FAIL() << "loaded a branch";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("node 'Add_y' (Add): reads 'x' from an earlier "
                                             "point of the stream"),
                  std::string::npos)
            << e.what();
    }
}

TEST(OnnxImportErrors, AnUnsupportedOperatorOnAConstantIsRefusedToo) {
    SmallGraph g(1);
    g.weights("k", {1}, {2.0f});
    g.node("Sin", {"k"}, "s");
    g.node("Mul", {"x", "s"}, "y");
    try {
        g.load("y");
        FAIL() << "loaded Sin";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("node 'Sin_s' (Sin): operator not supported"),
                  std::string::npos)
            << e.what();
    }
}

#else

TEST(OnnxImport, ABuildWithoutTheImporterSaysSo) {
    try {
        native::load_model(ModelSource::file(onnx_file("lstm")));
        FAIL() << "loaded ONNX without an importer";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("has no ONNX importer"), std::string::npos)
            << e.what();
    }
}

#endif

}  // namespace
}  // namespace legato::test
