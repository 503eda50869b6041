#pragma once
// Reading and writing audio files for the `legato` tool (libsndfile). Samples are planar float:
// one vector per channel, as InferenceHandler::process takes them. Everything here runs on the
// setup thread; never on an audio thread (file I/O blocks).

#include <cstddef>
#include <filesystem>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

struct sf_private_tag;  // libsndfile's SNDFILE, kept out of this header

namespace legato::cli {

/// A file could not be opened, read or written; the message names the file and the reason.
class AudioFileError : public std::runtime_error {
public:
    explicit AudioFileError(const std::string& message) : std::runtime_error(message) {}
};

/// Planar audio: channels[c][n] is sample n of channel c; every channel has the same length.
struct PlanarAudio {
    double sample_rate = 0.0;
    std::vector<std::vector<float>> channels;

    /// [any thread]
    std::size_t channel_count() const noexcept { return channels.size(); }
    std::size_t frames() const noexcept { return channels.empty() ? 0 : channels.front().size(); }
};

/// [setup thread] An open audio file being read (any format libsndfile reads: WAV, AIFF,
/// FLAC...). Closes the file when destroyed.
class AudioFileReader {
public:
    /// Throws AudioFileError "FILE: cannot open audio file: REASON".
    explicit AudioFileReader(const std::filesystem::path& file);
    ~AudioFileReader();
    AudioFileReader(const AudioFileReader&) = delete;
    AudioFileReader& operator=(const AudioFileReader&) = delete;

    double sample_rate() const noexcept { return sample_rate_; }
    std::size_t channel_count() const noexcept { return channels_; }
    std::size_t frames() const noexcept { return frames_; }  ///< as the header says

    /// Reads up to `frames` frames into channels[c][0..), deinterleaving; returns the frames
    /// read (fewer at the end of the file). `channels` must hold channel_count() spans of at
    /// least `frames` samples. Throws AudioFileError on a read error.
    std::size_t read(std::span<const std::span<float>> channels, std::size_t frames);

    /// Reads the rest of the file.
    PlanarAudio read_all();

private:
    std::filesystem::path file_;
    sf_private_tag* sound_file_ = nullptr;
    double sample_rate_ = 0.0;
    std::size_t channels_ = 0;
    std::size_t frames_ = 0;
    std::vector<float> interleaved_;
};

/// [setup thread] A WAV file being written as 32-bit float (exact for every float sample).
/// close() (or the destructor, which swallows errors) finishes the header.
class AudioFileWriter {
public:
    /// Creates or truncates `file`. Throws AudioFileError naming the file.
    AudioFileWriter(const std::filesystem::path& file, double sample_rate, std::size_t channels);
    ~AudioFileWriter();
    AudioFileWriter(const AudioFileWriter&) = delete;
    AudioFileWriter& operator=(const AudioFileWriter&) = delete;

    /// Writes `frames` frames from channels[c][0..), interleaving. `channels` must hold the
    /// writer's channel count of spans of at least `frames` samples. Throws AudioFileError.
    void write(std::span<const std::span<const float>> channels, std::size_t frames);

    /// Flushes and closes; throws AudioFileError if that fails. Idempotent.
    void close();

private:
    std::filesystem::path file_;
    sf_private_tag* sound_file_ = nullptr;
    std::size_t channels_ = 0;
    std::vector<float> interleaved_;
};

/// [setup thread] Reads a whole file. Throws AudioFileError.
PlanarAudio read_audio_file(const std::filesystem::path& file);

/// [setup thread] Writes `audio` as a 32-bit float WAV file. Throws AudioFileError.
void write_wav_float(const std::filesystem::path& file, const PlanarAudio& audio);

}  // namespace legato::cli
