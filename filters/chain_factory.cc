#include "filters/chain_factory.h"

#include <memory>

namespace edge::filters {

ChainFactory::ChainFactory(const config::Config& config, const config::RouteTable& routes)
    : cache_{&config, &routes}, batch_(config.batch) {
  compress_.settings.config = &config.compression;
  compress_.settings.rules = {config.compression.min_size, config.compression.types};
  compress_.stored_levels = {config.compression.gzip_level, config.compression.brotli_quality};
  conditional_unrouted_.compression = &compress_.settings;
  for (const config::RouteClass& route_class : config.route_classes) {
    conditional_.push_back(
        {&compress_.settings, route_class.generate_etag, route_class.max_object_size});
    fields_.push_back({&route_class.fields, route_class.max_object_size});
  }
}

void ChainFactory::addFilters(FilterChain& chain, const config::Route* route,
                              const FilterServices& services) const {
  chain.reserve(4);
  chain.emplace<CompressFilter>(compress_, services);
  if (route == nullptr) {
    chain.emplace<ConditionalFilter>(conditional_unrouted_);
    chain.emplace<batch::BatchFilter>(batch_, *services.batches);
    return;
  }
  chain.emplace<ConditionalFilter>(conditional_[route->class_index]);
  chain.emplace<FieldsFilter>(fields_[route->class_index], services);
  chain.emplace<CacheFilter>(cache_, services);
}

}  // namespace edge::filters
