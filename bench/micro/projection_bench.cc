// Field projection throughput on a 64 KB list of work orders (about 40 members each, with nested
// site, assignee and asset objects), and the cost of parsing a selection.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <random>
#include <string>

#include "lib/json/field_selection.h"
#include "lib/json/projection.h"

namespace edge::filters::json {
namespace {

constexpr const char* kStatuses[] = {"open", "scheduled", "in_progress", "on_hold", "completed"};
constexpr const char* kSites[] = {"North Plant", "Harbour Depot", "East Warehouse",
                                  "Central Workshop", "Airport Hangar 2"};
constexpr const char* kPeople[] = {"Ana Lima", "Bo Svensson", "Chen Wei", "Dara O'Neill"};
constexpr const char* kTasks[] = {"Inspect conveyor belt tension", "Replace hydraulic filter",
                                  "Calibrate pressure sensor", "Lubricate main bearings"};

std::string quoted(const std::string& text) { return "\"" + text + "\""; }

std::string person(std::mt19937& rng, const char* role) {
  const int id = 100 + static_cast<int>(rng() % 60);
  const std::string name = kPeople[rng() % 4];
  return std::string("\"") + role + "\":{\"id\":" + std::to_string(id) +
         ",\"name\":" + quoted(name) + ",\"email\":\"user" + std::to_string(id) +
         "@example.com\",\"team\":\"maintenance\",\"phone\":\"+44 20 7946 0" +
         std::to_string(100 + id) + "\"}";
}

std::string workOrder(std::mt19937& rng, int id) {
  const std::string n = std::to_string(id);
  const int site = static_cast<int>(rng() % 5);
  std::string o = "{\"id\":" + n + ",\"number\":\"WO-2024-" + n + "\",\"title\":" +
                  quoted(kTasks[rng() % 4]) + ",\"status\":" + quoted(kStatuses[rng() % 5]);
  o += ",\"priority\":" + std::to_string(rng() % 5 + 1) +
       ",\"type\":\"corrective\",\"category\":\"mechanical\",\"description\":\"Reported by the "
       "night shift: unusual noise near the drive unit; check, adjust and record readings.\"";
  o += ",\"site\":{\"id\":" + std::to_string(site + 1) + ",\"name\":" + quoted(kSites[site]) +
       ",\"code\":\"S" + std::to_string(site + 1) + "\",\"timezone\":\"Europe/London\"," +
       "\"address\":{\"line1\":\"" + std::to_string(rng() % 300) +
       " Industrial Way\",\"city\":\"Leeds\",\"postcode\":\"LS1 4AP\",\"country\":\"GB\"}}";
  o += "," + person(rng, "assignee") + "," + person(rng, "reporter");
  o += ",\"asset\":{\"id\":" + std::to_string(rng() % 900) +
       ",\"name\":\"Conveyor C-12\",\"serial\":\"SN-88" + std::to_string(rng() % 10000) +
       "\",\"model\":\"CX-400\"}";
  o += ",\"created_at\":\"2024-03-0" + std::to_string(rng() % 9 + 1) +
       "T08:15:00Z\",\"updated_at\":\"2024-03-11T16:40:12Z\",\"due_at\":\"2024-03-20T17:00:00Z\""
       ",\"completed_at\":null,\"estimated_hours\":" + std::to_string(rng() % 8 + 1) +
       ".5,\"actual_hours\":null,\"cost\":" + std::to_string(rng() % 5000) +
       ".25,\"currency\":\"GBP\",\"sla_breached\":false,\"requires_permit\":true";
  o += ",\"tags\":[\"safety\",\"line-3\",\"quarterly\"],\"location\":{\"lat\":53.79" +
       std::to_string(rng() % 100) + ",\"lng\":-1.54" + std::to_string(rng() % 100) + "}";
  o += ",\"checklist\":[{\"step\":1,\"text\":\"Isolate power\",\"done\":true},"
       "{\"step\":2,\"text\":\"Inspect\",\"done\":false}],\"external_ref\":\"ERP-" +
       std::to_string(rng() % 100000) + "\",\"version\":" + std::to_string(rng() % 20) +
       ",\"parts_count\":" + std::to_string(rng() % 12) +
       ",\"downtime_minutes\":" + std::to_string(rng() % 240) +
       ",\"notes\":\"\",\"shift\":\"night\",\"source\":\"mobile\",\"recurring\":false,"
       "\"parent_id\":null,\"approved_by\":null,\"contract\":\"FM-2024\",\"rating\":null}";
  return o;
}

std::string workOrderList(size_t min_bytes) {
  std::mt19937 rng(11);
  std::string json = "[";
  for (int id = 1; json.size() < min_bytes; ++id) {
    json += (id == 1 ? "" : ",") + workOrder(rng, id);
  }
  return json + "]";
}

const std::string& list() {
  static const std::string json = workOrderList(64 * 1024);
  return json;
}

const std::string& envelope() {
  static const std::string json = "{\"data\":" + list() +
                                  ",\"meta\":{\"page\":1,\"per_page\":50,\"total\":1234},"
                                  "\"links\":{\"next\":\"/api/v1/work-orders?page=2\"}}";
  return json;
}

constexpr const char* kFields = "id,number,title,status,site.name";

FieldSelection selectionOf(const char* fields) {
  return std::get<FieldSelection>(parseFields(fields));
}

void run(benchmark::State& state, const std::string& json, const char* fields) {
  const FieldSelection selection = selectionOf(fields);
  const ProjectionOptions options;
  std::string out;
  for (auto _ : state) {
    out.clear();
    if (project(json, selection, options, out) != ProjectStatus::Projected) {
      state.SkipWithError("projection failed");
      return;
    }
    benchmark::DoNotOptimize(out.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * json.size()));
  state.counters["in_bytes"] = static_cast<double>(json.size());
  state.counters["out_bytes"] = static_cast<double>(out.size());
}

void BM_ProjectList(benchmark::State& state) { run(state, list(), kFields); }
BENCHMARK(BM_ProjectList);

void BM_ProjectEnvelope(benchmark::State& state) { run(state, envelope(), kFields); }
BENCHMARK(BM_ProjectEnvelope);

void BM_ProjectWildcard(benchmark::State& state) { run(state, list(), "*"); }
BENCHMARK(BM_ProjectWildcard);

void BM_ProjectWildcardNested(benchmark::State& state) { run(state, list(), "*,site.name"); }
BENCHMARK(BM_ProjectWildcardNested);

// The caller's buffer already has padding: no copy into the thread's buffer.
void BM_ProjectListPadded(benchmark::State& state) {
  std::string json = list();
  json.reserve(json.size() + kJsonPadding);
  const FieldSelection selection = selectionOf(kFields);
  std::string out;
  for (auto _ : state) {
    out.clear();
    benchmark::DoNotOptimize(projectPadded(json, selection, {}, out));
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * json.size()));
}
BENCHMARK(BM_ProjectListPadded);

void BM_ParseSelection(benchmark::State& state) {
  for (auto _ : state) {
    auto parsed = parseFields(kFields);
    benchmark::DoNotOptimize(&parsed);
  }
}
BENCHMARK(BM_ParseSelection);

void BM_SelectionFromQuery(benchmark::State& state) {
  for (auto _ : state) {
    QuerySelection result = selectionFromQuery("page=2&fields=id%2Cnumber,title,status,site.name");
    benchmark::DoNotOptimize(&result);
  }
}
BENCHMARK(BM_SelectionFromQuery);

}  // namespace
}  // namespace edge::filters::json
