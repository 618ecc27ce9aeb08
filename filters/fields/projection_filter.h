// Sparse fieldsets: the selection is read from the query once and its parameters never reach
// the origin (which sends the whole representation, cached once). A stored JSON 200 is served
// through its memoised projection entry; any other JSON 200 is held until complete and cut.
// A malformed selection is answered 400 with the position of the error.
#pragma once

#include <memory>

#include "config/config.h"
#include "filters/chain/filter.h"
#include "filters/chain/services.h"
#include "lib/json/field_selection.h"

namespace edge::filters {

struct FieldsFilterConfig {
  const config::FieldsConfig* fields = nullptr;
  uint64_t max_object_size = 0;  // a held body larger than this streams on unprojected
};

class FieldsFilter : public Filter {
 public:
  FieldsFilter(const FieldsFilterConfig& config, const FilterServices& services)
      : config_(config), services_(services) {}

  FilterStatus onRequestHeaders(http::RequestHead& head) override;
  FilterStatus onResponseHeaders(ResponseHead& head, bool& end) override;
  FilterStatus onResponseBody(BodyPiece& piece) override;
  uint64_t bufferLimit() const override { return config_.max_object_size; }

 private:
  bool projectable(const http::Headers& headers) const;
  FilterStatus projectStored(ResponseHead& head);
  cache::EntryPtr projectNew(const cache::EntryPtr& base);
  void useProjection(ResponseHead& head, cache::EntryPtr projected);
  void refuseSelection(const std::string& param, const json::SelectionError& error);
  void countInvalidJson();

  const FieldsFilterConfig& config_;
  const FilterServices& services_;
  std::shared_ptr<const json::FieldSelection> selection_;  // null: no selection
  cache::Body replacement_;  // the projected body that replaces the one coming
  bool holding_ = false;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);  // guards store answers
};

}  // namespace edge::filters
