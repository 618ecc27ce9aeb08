// Compression throughput on a 64 KB JSON body: the streaming encoders as the compress filter
// drives them (one feed, one finish per response), and the gzip decoder.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <random>
#include <string>

#include "lib/codec/brotli_encoder.h"
#include "lib/codec/gzip_decoder.h"
#include "lib/codec/gzip_encoder.h"

namespace edge::filters::codec {
namespace {

// A list of work orders: repeated keys, a few vocabularies, varied numbers.
std::string jsonBody(size_t min_bytes) {
  static constexpr const char* kStatuses[] = {"open", "scheduled", "in_progress", "completed"};
  static constexpr const char* kTasks[] = {"Inspect conveyor belt", "Replace hydraulic filter",
                                           "Calibrate pressure sensor", "Clean air intake"};
  std::mt19937 rng(7);
  std::string json = "[";
  for (int id = 1; json.size() < min_bytes; ++id) {
    json += id == 1 ? "{\"id\":" : ",{\"id\":";
    json += std::to_string(id) + ",\"status\":\"" + kStatuses[rng() % 4];
    json += std::string("\",\"task\":\"") + kTasks[rng() % 4];
    json += "\",\"priority\":" + std::to_string(rng() % 5 + 1);
    json += ",\"assignee\":" + std::to_string(1000 + rng() % 40) + "}";
  }
  return json + "]";
}

const std::string& body() {
  static const std::string json = jsonBody(64 * 1024);
  return json;
}

void encode(benchmark::State& state, TransformerPtr (*make)(int)) {
  std::string out;
  for (auto _ : state) {
    TransformerPtr encoder = make(static_cast<int>(state.range(0)));
    out.clear();
    encoder->feed(body(), out);
    encoder->finish(out);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * body().size()));
  state.counters["ratio"] = static_cast<double>(out.size()) / static_cast<double>(body().size());
}

void BM_GzipEncode(benchmark::State& state) { encode(state, &makeGzipEncoder); }
BENCHMARK(BM_GzipEncode)->Arg(1)->Arg(6);

TransformerPtr makeBrotli(int quality) { return makeBrotliEncoder(quality); }
void BM_BrotliEncode(benchmark::State& state) { encode(state, &makeBrotli); }
BENCHMARK(BM_BrotliEncode)->Arg(1)->Arg(5)->Arg(11);

// The cache's one-shot path: the window is sized to the body.
void BM_BrotliCompressOnce(benchmark::State& state) {
  std::string out;
  for (auto _ : state) {
    out = brotliCompress(body(), static_cast<int>(state.range(0)));
    benchmark::DoNotOptimize(out.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * body().size()));
  state.counters["ratio"] = static_cast<double>(out.size()) / static_cast<double>(body().size());
}
BENCHMARK(BM_BrotliCompressOnce)->Arg(5)->Arg(11);

void BM_GzipDecode(benchmark::State& state) {
  const std::string gz = gzipCompress(body(), 6);
  std::string out;
  for (auto _ : state) {
    TransformerPtr decoder = makeGzipDecoder();
    out.clear();
    decoder->feed(gz, out);
    decoder->finish(out);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * body().size()));
}
BENCHMARK(BM_GzipDecode);

}  // namespace
}  // namespace edge::filters::codec
