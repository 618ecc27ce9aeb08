// The admin API's lifecycle paths: POST /reload, GET /healthz, GET /readyz. The server behind
// them (ServerControl) runs on the same loop, so they answer inline.
#include "proxy/admin/admin_api.h"
#include "proxy/admin/json_writer.h"

namespace edge::admin {
namespace {

AdminResponse methodNotAllowed(std::string_view path, std::string_view method) {
  AdminResponse response{405,
                         JsonWriter()
                             .beginObject()
                             .field("error", "use " + std::string(method) + " for " +
                                                 std::string(path))
                             .endObject()
                             .take(),
                         {}};
  response.headers.emplace_back("Allow", std::string(method));
  return response;
}

void writeList(JsonWriter& json, std::string_view name, const std::vector<std::string>& items) {
  json.key(name).beginArray();
  for (const std::string& item : items) {
    json.value(item);
  }
  json.endArray();
}

}  // namespace

std::optional<AdminResponse> AdminApi::lifecycle(const AdminRequest& request,
                                                 std::string_view path) {
  if (path == "/healthz") {
    if (request.method != "GET") {
      return methodNotAllowed(path, "GET");
    }
    return AdminResponse{200, JsonWriter().beginObject().field("status", "ok").endObject().take(), {}};
  }
  if (path == "/readyz") {
    if (request.method != "GET") {
      return methodNotAllowed(path, "GET");
    }
    Readiness ready = control_.readiness ? control_.readiness() : Readiness{true, {}};
    JsonWriter json;
    json.beginObject().field("ready", ready.ready);
    writeList(json, "reasons", ready.reasons);
    json.endObject();
    return AdminResponse{ready.ready ? 200 : 503, json.take(), {}};
  }
  if (path == "/reload") {
    if (request.method != "POST") {
      return methodNotAllowed(path, "POST");
    }
    if (!control_.reload) {
      return AdminResponse{
          503, JsonWriter().beginObject().field("error", "reload is not available").endObject().take(),
          {}};
    }
    // The outcome is complete on return: nothing of a failed reload was applied.
    ReloadOutcome outcome = control_.reload();
    JsonWriter json;
    json.beginObject().field("reloaded", outcome.ok);
    if (outcome.ok) {
      json.field("summary", outcome.summary);
    } else {
      json.field("error", "the configuration was not reloaded; the running one stays");
    }
    writeList(json, "errors", outcome.errors);
    writeList(json, "warnings", outcome.warnings);
    json.endObject();
    return AdminResponse{outcome.ok ? 200 : 400, json.take(), {}};
  }
  return std::nullopt;
}

}  // namespace edge::admin
