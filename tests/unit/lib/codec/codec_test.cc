#include <brotli/decode.h>
#include <gtest/gtest.h>
#include <zlib.h>

#include <cstdint>
#include <iostream>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "lib/codec/brotli_encoder.h"
#include "lib/codec/gzip_decoder.h"
#include "lib/codec/gzip_encoder.h"

namespace edge::filters::codec {
namespace {

// One maintenance work order, the shape of the API bodies the proxy compresses: repetitive keys
// with varied values.
std::string workOrder(std::mt19937& rng, int id) {
  static constexpr std::string_view kSites[] = {"North Plant", "Harbour Depot", "East Warehouse",
                                                "Central Workshop", "Airport Hangar 2"};
  static constexpr std::string_view kStatuses[] = {"open", "scheduled", "in_progress", "on_hold",
                                                   "completed"};
  static constexpr std::string_view kTasks[] = {
      "Inspect conveyor belt tension", "Replace hydraulic filter",
      "Calibrate pressure sensor",     "Lubricate main bearings",
      "Check emergency stop circuit",  "Clean air intake",
      "Update controller firmware",    "Test backup generator under load"};
  static constexpr std::string_view kPeople[] = {"Alice Moreau", "Bjorn Larsen",  "Chen Wei",
                                                 "Dara Okafor",  "Elena Petrova", "Farid Haddad"};
  // One rng() call per statement: the order operands of `+` are evaluated in is unspecified.
  auto pick = [&rng](const auto& list) { return std::string(list[rng() % std::size(list)]); };
  auto number = [&rng](uint32_t base, uint32_t span) {
    return std::to_string(base + rng() % span);
  };
  const uint32_t when = rng();
  std::string order = "{\"id\":\"WO-2026-" + std::to_string(id) + "\"";
  order += ",\"site\":\"" + pick(kSites) + "\"";
  order += ",\"status\":\"" + pick(kStatuses) + "\"";
  order += ",\"priority\":" + number(1, 5);
  order += ",\"created_at\":\"2026-0" + std::to_string(1 + when % 9) + "-1" +
           std::to_string(when / 9 % 10) + "T0" + std::to_string(when / 90 % 10) + ":" +
           std::to_string(10 + when / 900 % 50) + ":00Z\"";
  order += ",\"assignee\":{\"id\":" + number(1000, 40);
  order += ",\"name\":\"" + pick(kPeople) + "\"},\"tasks\":[";
  const uint32_t tasks = rng() % 4 + 1;
  for (uint32_t t = 1; t <= tasks; ++t) {
    order += (t == 1 ? "{\"seq\":" : ",{\"seq\":") + std::to_string(t);
    order += ",\"title\":\"" + pick(kTasks) + "\"";
    order += std::string(",\"done\":") + (rng() % 2 == 0 ? "true" : "false");
    order += ",\"minutes\":" + number(1, 8) + "5}";
  }
  return order + "]}";
}

// A JSON array of work orders at least `min_bytes` long, the same for the same seed.
std::string workOrdersJson(size_t min_bytes, uint32_t seed = 7) {
  std::mt19937 rng(seed);
  std::string json = "[";
  for (int id = 4711; json.size() < min_bytes; ++id) {
    json += (json.size() == 1 ? "" : ",") + workOrder(rng, id);
  }
  return json + "]";
}

const std::string& megabyteJson() {
  static const std::string json = workOrdersJson(1 << 20);
  return json;
}

// Feeds `input` in pieces of 1 byte to 64 KB (fixed seed), then finishes.
std::string transformInPieces(Transformer& codec, std::string_view input, uint32_t seed = 42) {
  std::mt19937 rng(seed);
  std::string out;
  while (!input.empty()) {
    const size_t piece = std::min<size_t>(input.size(), rng() % (64 * 1024) + 1);
    EXPECT_TRUE(codec.feed(input.substr(0, piece), out)) << codec.error();
    input.remove_prefix(piece);
  }
  EXPECT_TRUE(codec.finish(out)) << codec.error();
  return out;
}

std::string transform(Transformer& codec, std::string_view input) {
  std::string out;
  EXPECT_TRUE(codec.feed(input, out)) << codec.error();
  EXPECT_TRUE(codec.finish(out)) << codec.error();
  return out;
}

// zlib's inflate, driven directly as a reference decoder. A sync flush lets it hand out the
// output of an unfinished stream too.
struct Inflated {
  std::string data;
  bool ok = true;
  bool complete = false;
};

Inflated zlibGunzip(std::string_view gz) {
  Inflated result;
  z_stream stream{};
  EXPECT_EQ(inflateInit2_(&stream, 15 + 16, ZLIB_VERSION, static_cast<int>(sizeof(z_stream))),
            Z_OK);
  stream.next_in = const_cast<Bytef*>(reinterpret_cast<const Bytef*>(gz.data()));
  stream.avail_in = static_cast<uInt>(gz.size());
  std::vector<Bytef> buffer(64 * 1024);
  for (;;) {
    stream.next_out = buffer.data();
    stream.avail_out = static_cast<uInt>(buffer.size());
    const int rc = inflate(&stream, Z_SYNC_FLUSH);
    result.data.append(reinterpret_cast<const char*>(buffer.data()),
                       buffer.size() - stream.avail_out);
    result.complete = rc == Z_STREAM_END;
    result.ok = rc == Z_OK || rc == Z_STREAM_END || rc == Z_BUF_ERROR;
    if (!result.ok || result.complete || stream.avail_out != 0) {
      break;
    }
  }
  result.ok = result.ok && (!result.complete || stream.avail_in == 0);
  inflateEnd(&stream);
  return result;
}

// libbrotlidec's one-shot API as a reference decoder, given the size to expect.
std::string brotliDecompress(std::string_view br, size_t expected_size) {
  std::string out(expected_size + 1, '\0');
  size_t size = out.size();
  const BrotliDecoderResult result =
      BrotliDecoderDecompress(br.size(), reinterpret_cast<const uint8_t*>(br.data()), &size,
                              reinterpret_cast<uint8_t*>(out.data()));
  EXPECT_EQ(result, BROTLI_DECODER_RESULT_SUCCESS);
  out.resize(size);
  return out;
}

// libbrotlidec's streaming API, which can decode an unfinished (flushed) stream.
std::string brotliDecodePrefix(std::string_view br, BrotliDecoderResult expected) {
  BrotliDecoderState* state = BrotliDecoderCreateInstance(nullptr, nullptr, nullptr);
  size_t available_in = br.size();
  const auto* next_in = reinterpret_cast<const uint8_t*>(br.data());
  std::string out;
  BrotliDecoderResult result;
  do {
    size_t available_out = 0;
    result = BrotliDecoderDecompressStream(state, &available_in, &next_in, &available_out, nullptr,
                                           nullptr);
    size_t size = 0;
    const uint8_t* data = BrotliDecoderTakeOutput(state, &size);
    out.append(reinterpret_cast<const char*>(data), size);
  } while (result == BROTLI_DECODER_RESULT_NEEDS_MORE_OUTPUT);
  EXPECT_EQ(result, expected);
  BrotliDecoderDestroyInstance(state);
  return out;
}

std::string ourGunzip(std::string_view gz) {
  TransformerPtr decoder = makeGzipDecoder();
  return transformInPieces(*decoder, gz, 9);
}

// Checks a gzip stream with both zlib and our decoder.
void expectGunzipsTo(std::string_view gz, std::string_view expected) {
  const Inflated inflated = zlibGunzip(gz);
  EXPECT_TRUE(inflated.ok);
  EXPECT_TRUE(inflated.complete);
  EXPECT_TRUE(inflated.data == expected) << inflated.data.size() << " vs " << expected.size();
  EXPECT_TRUE(ourGunzip(gz) == expected);
}

// ---- gzip encoder ----

TEST(GzipEncoderTest, EmptyInputStillMakesAValidGzipStream) {
  TransformerPtr encoder = makeGzipEncoder(6);
  const std::string gz = transform(*encoder, "");
  EXPECT_EQ(gz.substr(0, 3), "\x1f\x8b\x08");
  expectGunzipsTo(gz, "");
}

TEST(GzipEncoderTest, SmallJsonRoundTripsThroughZlibAndOurDecoder) {
  const std::string json = R"({"id":"WO-1","status":"open","tasks":[{"seq":1,"done":false}]})";
  TransformerPtr encoder = makeGzipEncoder(6);
  expectGunzipsTo(transform(*encoder, json), json);
}

TEST(GzipEncoderTest, MegabyteFedInRandomPiecesRoundTripsAndStreamsOutputEarly) {
  const std::string& json = megabyteJson();
  TransformerPtr encoder = makeGzipEncoder(6);
  std::string early;
  ASSERT_TRUE(encoder->feed(std::string_view(json).substr(0, json.size() / 2), early));
  EXPECT_GT(early.size(), 0u) << "half a megabyte in, output should already be flowing";

  TransformerPtr pieces = makeGzipEncoder(6);
  expectGunzipsTo(transformInPieces(*pieces, json), json);
}

TEST(GzipEncoderTest, FlushMakesEverythingFedSoFarDecodable) {
  const std::string& json = megabyteJson();
  const std::string_view head = std::string_view(json).substr(0, 300 * 1000 + 7);
  TransformerPtr encoder = makeGzipEncoder(6);
  std::string gz;
  ASSERT_TRUE(encoder->feed(head, gz));
  ASSERT_TRUE(encoder->flush(gz));
  ASSERT_TRUE(encoder->flush(gz)) << "a second flush with nothing new is harmless";

  const Inflated prefix = zlibGunzip(gz);
  EXPECT_TRUE(prefix.ok);
  EXPECT_FALSE(prefix.complete);
  EXPECT_TRUE(prefix.data == head);

  ASSERT_TRUE(encoder->feed(std::string_view(json).substr(head.size()), gz));
  ASSERT_TRUE(encoder->finish(gz));
  expectGunzipsTo(gz, json);
}

TEST(GzipEncoderTest, EveryLevelRoundTripsAndHigherLevelsCompressSmaller) {
  const std::string json = workOrdersJson(64 * 1024);
  std::vector<size_t> sizes;
  for (int level = 1; level <= 9; ++level) {
    const std::string gz = gzipCompress(json, level);
    expectGunzipsTo(gz, json);
    sizes.push_back(gz.size());
  }
  EXPECT_LT(sizes.back(), sizes.front());
  EXPECT_EQ(gzipCompress(json, 0), gzipCompress(json, 1)) << "levels are clamped to 1..9";
  EXPECT_EQ(gzipCompress(json, 42), gzipCompress(json, 9));
}

TEST(GzipEncoderTest, OneShotMatchesStreamingOutput) {
  const std::string json = workOrdersJson(20 * 1024);
  TransformerPtr encoder = makeGzipEncoder(5);
  EXPECT_EQ(gzipCompress(json, 5), transformInPieces(*encoder, json));
}

TEST(GzipEncoderTest, FeedAfterFinishIsAnError) {
  TransformerPtr encoder = makeGzipEncoder(6);
  std::string gz;
  ASSERT_TRUE(encoder->finish(gz));
  const size_t size = gz.size();
  EXPECT_TRUE(encoder->finish(gz)) << "a second finish appends nothing";
  EXPECT_EQ(gz.size(), size);
  EXPECT_FALSE(encoder->feed("late", gz));
  EXPECT_EQ(encoder->error(), "feed after finish");
}

// Under the sanitizer build, LeakSanitizer fails this test if deflate's state outlives it.
TEST(GzipEncoderTest, DestroyingBeforeFinishReleasesTheStream) {
  std::string gz;
  makeGzipEncoder(9)->feed(megabyteJson(), gz);
  EXPECT_FALSE(gz.empty());
}

// ---- brotli encoder ----

TEST(BrotliEncoderTest, EmptyInputStillMakesAValidBrotliStream) {
  TransformerPtr encoder = makeBrotliEncoder(5);
  const std::string br = transform(*encoder, "");
  EXPECT_FALSE(br.empty());
  EXPECT_EQ(brotliDecompress(br, 0), "");
}

TEST(BrotliEncoderTest, SmallJsonRoundTrips) {
  const std::string json = R"({"id":"WO-1","status":"open","tasks":[{"seq":1,"done":false}]})";
  TransformerPtr encoder = makeBrotliEncoder(5);
  EXPECT_EQ(brotliDecompress(transform(*encoder, json), json.size()), json);
}

TEST(BrotliEncoderTest, MegabyteFedInRandomPiecesRoundTrips) {
  const std::string& json = megabyteJson();
  TransformerPtr encoder = makeBrotliEncoder(5);
  EXPECT_TRUE(brotliDecompress(transformInPieces(*encoder, json), json.size()) == json);
}

// Brotli holds back up to twice its window (512 KB at lgwin 18) to build large metablocks.
TEST(BrotliEncoderTest, OutputFlowsOnceTwiceTheWindowHasBeenFed) {
  const std::string& json = megabyteJson();
  TransformerPtr encoder = makeBrotliEncoder(5, 18);
  std::string early;
  ASSERT_TRUE(encoder->feed(std::string_view(json).substr(0, 600 * 1000), early));
  EXPECT_GT(early.size(), 0u);

  TransformerPtr fastest = makeBrotliEncoder(1);
  std::string fast;
  ASSERT_TRUE(fastest->feed(std::string_view(json).substr(0, 100 * 1000), fast));
  EXPECT_GT(fast.size(), 0u) << "qualities 0 and 1 emit block by block";
}

TEST(BrotliEncoderTest, FlushMakesEverythingFedSoFarDecodable) {
  const std::string& json = megabyteJson();
  const std::string_view head = std::string_view(json).substr(0, 300 * 1000 + 7);
  TransformerPtr encoder = makeBrotliEncoder(5);
  std::string br;
  ASSERT_TRUE(encoder->feed(head, br));
  ASSERT_TRUE(encoder->flush(br));
  ASSERT_TRUE(encoder->flush(br)) << "a second flush with nothing new is harmless";
  EXPECT_TRUE(brotliDecodePrefix(br, BROTLI_DECODER_RESULT_NEEDS_MORE_INPUT) == head);

  ASSERT_TRUE(encoder->feed(std::string_view(json).substr(head.size()), br));
  ASSERT_TRUE(encoder->finish(br));
  EXPECT_TRUE(brotliDecodePrefix(br, BROTLI_DECODER_RESULT_SUCCESS) == json);
}

TEST(BrotliEncoderTest, EveryQualityAndWindowRoundTrips) {
  const std::string json = workOrdersJson(100 * 1024);
  for (int quality : {-3, 0, 1, 5, 9, 11, 99}) {
    for (int lgwin : {10, 16, 22, 24}) {
      TransformerPtr encoder = makeBrotliEncoder(quality, lgwin);
      EXPECT_TRUE(brotliDecompress(transformInPieces(*encoder, json), json.size()) == json)
          << "quality " << quality << " lgwin " << lgwin;
    }
  }
}

TEST(BrotliEncoderTest, OneShotRoundTripsSmallAndLargeBodies) {
  for (size_t size : {size_t{0}, size_t{100}, size_t{5000}, size_t{1} << 20}) {
    const std::string json = size == 0 ? "" : workOrdersJson(size);
    EXPECT_TRUE(brotliDecompress(brotliCompress(json, 5), json.size()) == json) << size;
  }
}

TEST(BrotliEncoderTest, FeedAfterFinishIsAnError) {
  TransformerPtr encoder = makeBrotliEncoder(5);
  std::string br;
  ASSERT_TRUE(encoder->finish(br));
  EXPECT_FALSE(encoder->feed("late", br));
  EXPECT_EQ(encoder->error(), "feed after finish");
}

// As for gzip, LeakSanitizer checks that the encoder state is destroyed.
TEST(BrotliEncoderTest, DestroyingBeforeFinishReleasesTheEncoder) {
  std::string br;
  makeBrotliEncoder(11)->feed(workOrdersJson(200 * 1024), br);
  SUCCEED();
}

TEST(BrotliEncoderTest, BrotliIsAtLeastFifteenPercentSmallerThanGzipOnJson) {
  const std::string json = workOrdersJson(64 * 1024);
  const std::string gz = gzipCompress(json, 6);
  const std::string br = brotliCompress(json, 11);
  std::cout << "work orders: " << json.size() << " bytes, gzip-6 " << gz.size() << ", br-11 "
            << br.size() << " ("
            << 100.0 * static_cast<double>(br.size()) / static_cast<double>(gz.size())
            << "% of gzip)\n";
  EXPECT_LE(static_cast<double>(br.size()), 0.85 * static_cast<double>(gz.size()));
}

// ---- gzip decoder ----

TEST(GzipDecoderTest, DecodesInputFedOneByteAtATime) {
  const std::string json = workOrdersJson(8 * 1024);
  const std::string gz = gzipCompress(json, 6);
  TransformerPtr decoder = makeGzipDecoder();
  std::string out;
  for (char c : gz) {
    ASSERT_TRUE(decoder->feed(std::string_view(&c, 1), out)) << decoder->error();
  }
  ASSERT_TRUE(decoder->finish(out)) << decoder->error();
  EXPECT_EQ(out, json);
}

TEST(GzipDecoderTest, DecodesConcatenatedMembersBackToBack) {
  const std::string gz = gzipCompress("first,", 6) + gzipCompress("", 1) + gzipCompress("last", 9);
  TransformerPtr decoder = makeGzipDecoder();
  EXPECT_EQ(transform(*decoder, gz), "first,last");
  EXPECT_EQ(ourGunzip(gz), "first,last") << "also when members are split across feeds";
}

TEST(GzipDecoderTest, RejectsCorruptData) {
  const std::string json = workOrdersJson(8 * 1024);
  std::string gz = gzipCompress(json, 6);
  gz[gz.size() / 2] = static_cast<char>(gz[gz.size() / 2] ^ 0x55);
  TransformerPtr decoder = makeGzipDecoder();
  std::string out;
  EXPECT_FALSE(decoder->feed(gz, out) && decoder->finish(out));
  EXPECT_TRUE(decoder->error().starts_with("corrupt gzip data: ")) << decoder->error();
  EXPECT_FALSE(decoder->feed(gz, out)) << "a failed decoder stays failed";
}

TEST(GzipDecoderTest, RejectsAWrongChecksum) {
  std::string gz = gzipCompress("checksummed", 6);
  gz[gz.size() - 8] = static_cast<char>(gz[gz.size() - 8] ^ 1);  // first byte of the CRC-32
  TransformerPtr decoder = makeGzipDecoder();
  std::string out;
  EXPECT_FALSE(decoder->feed(gz, out));
  EXPECT_EQ(decoder->error(), "corrupt gzip data: incorrect data check");
}

TEST(GzipDecoderTest, RejectsInputThatIsNotGzip) {
  TransformerPtr decoder = makeGzipDecoder();
  std::string out;
  EXPECT_FALSE(decoder->feed("{\"plain\":\"json\"}", out));
  EXPECT_EQ(decoder->error(), "corrupt gzip data: incorrect header check");
}

TEST(GzipDecoderTest, ReportsATruncatedStreamAtFinish) {
  const std::string gz = gzipCompress(workOrdersJson(8 * 1024), 6);
  for (size_t keep : {size_t{0}, size_t{1}, size_t{10}, gz.size() / 2, gz.size() - 1}) {
    TransformerPtr decoder = makeGzipDecoder();
    std::string out;
    EXPECT_TRUE(decoder->feed(std::string_view(gz).substr(0, keep), out)) << keep;
    EXPECT_FALSE(decoder->finish(out)) << keep;
    EXPECT_EQ(decoder->error(), "gzip stream ended early") << keep;
  }
}

TEST(GzipDecoderTest, RejectsTrailingGarbageAfterTheLastMember) {
  const std::string gz = gzipCompress("body", 6);
  for (const std::string& tail : {std::string("x"), std::string("\x1fx"), std::string(4, '\0')}) {
    TransformerPtr decoder = makeGzipDecoder();
    std::string out;
    EXPECT_FALSE(decoder->feed(gz, out) && decoder->feed(tail, out)) << tail.size();
    EXPECT_EQ(decoder->error(), "trailing data after gzip stream");
  }
  // Half a magic number could be the start of another member, until the stream ends.
  TransformerPtr decoder = makeGzipDecoder();
  std::string out;
  EXPECT_TRUE(decoder->feed(gz + "\x1f", out));
  EXPECT_FALSE(decoder->finish(out));
  EXPECT_EQ(decoder->error(), "gzip stream ended early");
}

TEST(GzipDecoderTest, StopsADecompressionBombAtTheLimit) {
  const std::string bomb = gzipCompress(std::string(32u << 20, '\0'), 9);
  ASSERT_LT(bomb.size(), 64u * 1024);
  TransformerPtr decoder = makeGzipDecoder(1 << 20);
  std::string out;
  EXPECT_FALSE(decoder->feed(bomb, out));
  EXPECT_EQ(decoder->error(), "decoded body exceeds 1048576 bytes");
  EXPECT_LE(out.size(), (1u << 20) + 1) << "the limit also bounds what was buffered";
}

TEST(GzipDecoderTest, AcceptsABodyOfExactlyTheLimit) {
  const std::string json = workOrdersJson(40 * 1024);
  TransformerPtr decoder = makeGzipDecoder(json.size());
  EXPECT_EQ(transform(*decoder, gzipCompress(json, 6)), json);

  TransformerPtr smaller = makeGzipDecoder(json.size() - 1);
  std::string out;
  EXPECT_FALSE(smaller->feed(gzipCompress(json, 6), out));
  EXPECT_EQ(smaller->error(), "decoded body exceeds " + std::to_string(json.size() - 1) + " bytes");
}

}  // namespace
}  // namespace edge::filters::codec
