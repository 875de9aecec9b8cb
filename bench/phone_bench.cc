// Phone-number throughput: hashing already-normalized numbers (the
// customer-list path) and normalize+hash of raw input, single rows and the
// multi-threaded batch API.
//
//   build/release/bench/phone_bench --benchmark_counters_tabular=true
//
// Limits on this machine kind (DEPENDENCIES.md): SHA-256 of a short string
// ~15M/s per core; libphonenumber Parse+Format ~76k/s per core.
#include <benchmark/benchmark.h>

#include <string>
#include <vector>

#include "common/random.h"
#include "phone/phone.h"

namespace {

using namespace tandem;

// Valid-looking numbers from a few regions, in E.164 and in raw forms.
const std::vector<std::string>& E164s() {
  static const auto* rows = [] {
    auto* v = new std::vector<std::string>;
    SeededRandom rnd(7);
    const char* prefixes[] = {"+1415555", "+4917012", "+4479111", "+3361234", "+8190123"};
    for (int i = 0; i < 1'000'000; ++i) {
      std::string n = prefixes[i % 5];
      while (n.size() < 12) n.push_back(static_cast<char>('0' + rnd.Uniform(10)));
      v->push_back(n);
    }
    return v;
  }();
  return *rows;
}

const std::vector<std::string>& RawRows() {
  static const auto* rows = [] {
    auto* v = new std::vector<std::string>;
    SeededRandom rnd(8);
    for (int i = 0; i < 200'000; ++i) {
      std::string digits;
      for (int d = 0; d < 4; ++d) digits.push_back(static_cast<char>('0' + rnd.Uniform(10)));
      switch (i % 3) {
        case 0:
          v->push_back("(415) 555-" + digits);
          break;
        case 1:
          v->push_back("+1 415 555 " + digits);
          break;
        default:
          v->push_back("001-415-555-" + digits);
          break;
      }
    }
    return v;
  }();
  return *rows;
}

void BM_HashNormalized(benchmark::State& state) {
  const auto& rows = E164s();
  phone::PhoneHasher hasher;
  size_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(hasher.Hash(rows[i]));
    if (++i == rows.size()) i = 0;
  }
  state.counters["rows/s"] = benchmark::Counter(state.iterations(), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_HashNormalized);

void BM_HashNormalizedHex(benchmark::State& state) {
  const auto& rows = E164s();
  phone::PhoneHasher hasher;
  size_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(hasher.HexHash(rows[i]));
    if (++i == rows.size()) i = 0;
  }
  state.counters["rows/s"] = benchmark::Counter(state.iterations(), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_HashNormalizedHex);

void BM_HashNormalizedBatch(benchmark::State& state) {
  const auto& rows = E164s();
  std::vector<std::string_view> views(rows.begin(), rows.end());
  std::vector<phone::Digest> out;
  std::vector<phone::Reason> reasons;
  for (auto _ : state) {
    phone::HashNormalizedBatch(views, &out, &reasons, static_cast<unsigned>(state.range(0)));
  }
  state.counters["rows/s"] =
      benchmark::Counter(static_cast<double>(state.iterations() * rows.size()), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_HashNormalizedBatch)->Arg(1)->Arg(2)->UseRealTime()->Unit(benchmark::kMillisecond);

void BM_NormalizeAndHash(benchmark::State& state) {
  const auto& rows = RawRows();
  phone::PhoneHasher hasher;
  size_t i = 0;
  for (auto _ : state) {
    phone::Parsed p = phone::Parse(rows[i], "US");
    benchmark::DoNotOptimize(hasher.Hash(p.e164));
    if (++i == rows.size()) i = 0;
  }
  state.counters["rows/s"] = benchmark::Counter(state.iterations(), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_NormalizeAndHash);

void BM_NormalizeAndHashBatch(benchmark::State& state) {
  const auto& rows = RawRows();
  std::vector<std::string_view> views(rows.begin(), rows.end());
  for (auto _ : state) {
    benchmark::DoNotOptimize(
        phone::NormalizeAndHashBatch(views, "US", static_cast<unsigned>(state.range(0))));
  }
  state.counters["rows/s"] =
      benchmark::Counter(static_cast<double>(state.iterations() * rows.size()), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_NormalizeAndHashBatch)->Arg(1)->Arg(2)->UseRealTime()->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
