// The filters of the request path, in their fixed order, made per request from configs built
// once per config snapshot (Envoy's config/instance split). Request order: compress,
// conditional, fields, cache; the response runs back from where it enters (the Stream's
// upstream response through all four, the cache's answers through fields, conditional,
// compress).
#pragma once

#include <vector>

#include "config/config.h"
#include "config/route_rules.h"
#include "filters/chain/chain.h"
#include "filters/chain/services.h"
#include "filters/batch/batch_filter.h"
#include "filters/cache/cache_filter.h"
#include "filters/compress/compress_filter.h"
#include "filters/conditional/conditional_filter.h"
#include "filters/fields/projection_filter.h"

namespace edge::filters {

class ChainFactory {
 public:
  ChainFactory(const config::Config& config, const config::RouteTable& routes);
  ChainFactory(const ChainFactory&) = delete;
  ChainFactory& operator=(const ChainFactory&) = delete;

  // Adds the filters for `route`; null for a batch request, which the batch filter answers.
  void addFilters(FilterChain& chain, const config::Route* route,
                  const FilterServices& services) const;

  // For the fetch that stores responses (proxy/cache_fetch): the same settings hits use.
  const CompressionSettings& compression() const { return compress_.settings; }
  const EncodingLevels& storedLevels() const { return compress_.stored_levels; }

 private:
  CompressFilterConfig compress_;
  ConditionalFilterConfig conditional_unrouted_;
  std::vector<ConditionalFilterConfig> conditional_;  // per route class
  std::vector<FieldsFilterConfig> fields_;            // per route class
  CacheFilterConfig cache_;
  const config::BatchConfig& batch_;
};

}  // namespace edge::filters
