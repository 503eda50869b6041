#pragma once
// Everything in Legato's public API.

#include "legato/audio_tensor_copy.hpp"
#include "legato/backend.hpp"
#include "legato/bypass_backend.hpp"
#include "legato/config_file.hpp"
#include "legato/context.hpp"
#include "legato/custom_backend.hpp"
#include "legato/dry_wet_mixer.hpp"
#include "legato/engines.hpp"
#include "legato/error.hpp"
#if LEGATO_HAS_ONNXRUNTIME
#include "legato/onnxruntime_backend.hpp"
#endif
#if LEGATO_HAS_LIBTORCH
#include "legato/libtorch_backend.hpp"
#endif
#if LEGATO_HAS_TFLITE
#include "legato/tflite_backend.hpp"
#endif
#include "legato/host_config.hpp"
#include "legato/inference_config.hpp"
#include "legato/inference_handler.hpp"
#include "legato/latency.hpp"
#include "legato/model_description.hpp"
#include "legato/model_file_config.hpp"
#include "legato/model_source.hpp"
#include "legato/nonblocking.hpp"
#include "legato/pre_post_processor.hpp"
#include "legato/statistics.hpp"
#include "legato/tensor_resolution.hpp"
#include "legato/tensor_spec.hpp"
