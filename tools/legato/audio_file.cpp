#include "tools/legato/audio_file.hpp"

#include <sndfile.h>

#include <algorithm>
#include <system_error>

namespace legato::cli {

namespace {

// Frames converted per libsndfile call: bounds the interleaving buffer for long files.
constexpr std::size_t chunk_frames = 8192;

std::string describe(const std::filesystem::path& file) {
    return file.string();
}

}  // namespace

AudioFileReader::AudioFileReader(const std::filesystem::path& file) : file_(file) {
    std::error_code error;
    if (!std::filesystem::exists(file, error))
        throw AudioFileError(describe(file) + ": no such audio file");
    if (std::filesystem::is_directory(file, error))
        throw AudioFileError(describe(file) + ": is a directory, not an audio file");
    SF_INFO info{};
    sound_file_ = sf_open(file.c_str(), SFM_READ, &info);
    if (sound_file_ == nullptr)
        throw AudioFileError(describe(file) + ": cannot read as audio: " + sf_strerror(nullptr));
    if (info.channels < 1 || info.samplerate < 1) {
        sf_close(sound_file_);
        throw AudioFileError(describe(file) + ": audio file has " + std::to_string(info.channels) +
                             " channels at " + std::to_string(info.samplerate) + " Hz");
    }
    sample_rate_ = static_cast<double>(info.samplerate);
    channels_ = static_cast<std::size_t>(info.channels);
    frames_ = info.frames > 0 ? static_cast<std::size_t>(info.frames) : 0;
}

AudioFileReader::~AudioFileReader() {
    if (sound_file_ != nullptr)
        sf_close(sound_file_);
}

std::size_t AudioFileReader::read(std::span<const std::span<float>> channels, std::size_t frames) {
    if (channels.size() != channels_)
        throw AudioFileError(describe(file_) + ": read with " + std::to_string(channels.size()) +
                             " channel buffers, the file has " + std::to_string(channels_));
    std::size_t done = 0;
    while (done < frames) {
        const std::size_t want = std::min(chunk_frames, frames - done);
        interleaved_.resize(want * channels_);
        const sf_count_t got =
            sf_readf_float(sound_file_, interleaved_.data(), static_cast<sf_count_t>(want));
        if (got < 0 || sf_error(sound_file_) != SF_ERR_NO_ERROR)
            throw AudioFileError(describe(file_) + ": read error: " + sf_strerror(sound_file_));
        const auto count = static_cast<std::size_t>(got);
        for (std::size_t c = 0; c < channels_; ++c) {
            float* destination = channels[c].data() + done;
            for (std::size_t n = 0; n < count; ++n)
                destination[n] = interleaved_[n * channels_ + c];
        }
        done += count;
        if (count < want)
            break;  // end of file
    }
    return done;
}

PlanarAudio AudioFileReader::read_all() {
    PlanarAudio audio;
    audio.sample_rate = sample_rate_;
    audio.channels.assign(channels_, {});
    // The header's frame count is a hint (it can be wrong or unknown for some formats): read
    // in chunks until the end instead of trusting it.
    std::size_t total = 0;
    std::vector<std::span<float>> views(channels_);
    for (;;) {
        for (std::size_t c = 0; c < channels_; ++c) {
            audio.channels[c].resize(total + chunk_frames);
            views[c] = std::span<float>(audio.channels[c]).subspan(total);
        }
        const std::size_t got = read(views, chunk_frames);
        total += got;
        if (got < chunk_frames)
            break;
    }
    for (auto& channel : audio.channels)
        channel.resize(total);
    return audio;
}

AudioFileWriter::AudioFileWriter(const std::filesystem::path& file, double sample_rate,
                                 std::size_t channels)
    : file_(file), channels_(channels) {
    if (channels < 1)
        throw AudioFileError(describe(file) + ": cannot write an audio file with no channels");
    SF_INFO info{};
    info.samplerate = static_cast<int>(sample_rate);
    info.channels = static_cast<int>(channels);
    info.format = SF_FORMAT_WAV | SF_FORMAT_FLOAT;
    if (static_cast<double>(info.samplerate) != sample_rate || info.samplerate < 1)
        throw AudioFileError(describe(file) + ": WAV needs a whole, positive sample rate, got " +
                             std::to_string(sample_rate));
    if (sf_format_check(&info) == SF_FALSE)
        throw AudioFileError(describe(file) + ": libsndfile cannot write a float WAV with " +
                             std::to_string(channels) + " channels at " +
                             std::to_string(info.samplerate) + " Hz");
    sound_file_ = sf_open(file.c_str(), SFM_WRITE, &info);
    if (sound_file_ == nullptr)
        throw AudioFileError(describe(file) + ": cannot write: " + sf_strerror(nullptr));
}

AudioFileWriter::~AudioFileWriter() {
    if (sound_file_ != nullptr)
        sf_close(sound_file_);
}

void AudioFileWriter::write(std::span<const std::span<const float>> channels, std::size_t frames) {
    if (sound_file_ == nullptr)
        throw AudioFileError(describe(file_) + ": write after close");
    if (channels.size() != channels_)
        throw AudioFileError(describe(file_) + ": write with " + std::to_string(channels.size()) +
                             " channel buffers, the file has " + std::to_string(channels_));
    std::size_t done = 0;
    while (done < frames) {
        const std::size_t count = std::min(chunk_frames, frames - done);
        interleaved_.resize(count * channels_);
        for (std::size_t c = 0; c < channels_; ++c) {
            const float* source = channels[c].data() + done;
            for (std::size_t n = 0; n < count; ++n)
                interleaved_[n * channels_ + c] = source[n];
        }
        const sf_count_t written =
            sf_writef_float(sound_file_, interleaved_.data(), static_cast<sf_count_t>(count));
        if (written != static_cast<sf_count_t>(count))
            throw AudioFileError(describe(file_) + ": write error: " + sf_strerror(sound_file_));
        done += count;
    }
}

void AudioFileWriter::close() {
    if (sound_file_ == nullptr)
        return;
    sf_write_sync(sound_file_);
    const int result = sf_close(sound_file_);
    sound_file_ = nullptr;
    if (result != 0)
        throw AudioFileError(describe(file_) +
                             ": cannot finish writing: " + sf_error_number(result));
}

PlanarAudio read_audio_file(const std::filesystem::path& file) {
    AudioFileReader reader(file);
    return reader.read_all();
}

void write_wav_float(const std::filesystem::path& file, const PlanarAudio& audio) {
    AudioFileWriter writer(file, audio.sample_rate, audio.channel_count());
    std::vector<std::span<const float>> views;
    views.reserve(audio.channel_count());
    for (const auto& channel : audio.channels)
        views.emplace_back(channel);
    writer.write(views, audio.frames());
    writer.close();
}

}  // namespace legato::cli
