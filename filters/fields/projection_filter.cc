#include "filters/fields/projection_filter.h"

#include "lib/json/json_string.h"
#include "filters/fields/fields_filter.h"
#include "filters/fields/json_response.h"
#include "lib/http/via.h"

namespace edge::filters {

FilterStatus FieldsFilter::onRequestHeaders(http::RequestHead& /*head*/) {
  RequestContext& context = callbacks().context();
  const size_t question = context.target.find('?');
  if (!config_.fields->enabled || question == std::string::npos) {
    return FilterStatus::Continue;
  }
  json::QuerySelection query =
      json::selectionFromQuery(std::string_view(context.target).substr(question + 1));
  if (!query.present) {
    return FilterStatus::Continue;
  }
  if (query.error) {
    refuseSelection(query.param, *query.error);
    return FilterStatus::Stop;
  }
  context.target = withoutFieldParams(context.target);
  if (!query.selection.empty()) {
    selection_ = std::make_shared<const json::FieldSelection>(std::move(query.selection));
    context.has_field_selection = true;
    // The client holds a projection's validators: answered here once the whole body is in.
    context.upstream_headers->remove("if-none-match");
    context.upstream_headers->remove("if-modified-since");
  }
  return FilterStatus::Continue;
}

void FieldsFilter::refuseSelection(const std::string& param, const json::SelectionError& error) {
  std::string body = "{\"error\":";
  json::appendJsonString(body, "malformed field selection in " + param + ": " + error.message +
                                    " at position " + std::to_string(error.position));
  body.append(",\"parameter\":");
  json::appendJsonString(body, param);
  body.append(",\"position\":").append(std::to_string(error.position)).append("}");
  ResponseHead head = ResponseHead::ownJson(400, "Bad Request", body.size());
  callbacks().respond(std::move(head), std::make_shared<const std::string>(std::move(body)));
}

bool FieldsFilter::projectable(const http::Headers& headers) const {
  return selection_ != nullptr && isPlainJson(headers) && !forbidsTransform(headers);
}

FilterStatus FieldsFilter::onResponseHeaders(ResponseHead& head, bool& end) {
  if (selection_ == nullptr || end || head.status != 200 || head.released) {
    return FilterStatus::Continue;
  }
  if (head.entry && !head.materialised) {
    if (!projectable(head.entry->headers)) {
      return FilterStatus::Continue;
    }
    return projectStored(head);
  }
  if (!head.whole_body && projectable(head.headers) && !callbacks().context().head_request &&
      !(head.content_length && *head.content_length > config_.max_object_size)) {
    holding_ = true;
    return FilterStatus::StopAndBuffer;
  }
  return FilterStatus::Continue;
}

FilterStatus FieldsFilter::onResponseBody(BodyPiece& piece) {
  if (replacement_) {
    if (piece.size() > 0) {
      piece.data = replacement_;
    }
    return FilterStatus::Continue;
  }
  if (!holding_) {
    return FilterStatus::Continue;
  }
  holding_ = false;
  ResponseHead& head = callbacks().heldResponse();
  std::string body = piece.data ? *piece.data : std::string();
  if (!projectBody(head.headers, body, *selection_, {config_.fields->envelope})) {
    countInvalidJson();
  }
  head.whole_body = true;
  head.content_length = body.size();
  piece.data = std::make_shared<const std::string>(std::move(body));
  return FilterStatus::Continue;
}

// A stored JSON 200 goes out as its projection for this request's selection: the memoised
// one when it was cut from this very representation, else a new one (memoised if the class
// says so). The memo lookup may answer later (a remote tier): the response waits for it.
FilterStatus FieldsFilter::projectStored(ResponseHead& head) {
  const cache::EntryPtr base = head.entry;
  if (!config_.fields->memoize) {
    useProjection(head, projectNew(base));
    return FilterStatus::Continue;
  }
  std::string key = projectionKey(base->key, *selection_);
  bool answered = false;
  bool inside_lookup = true;
  std::weak_ptr<bool> alive = alive_;
  services_.cache->store.lookup(
      key, [base](const cache::CachedEntry& candidate) { return isProjectionOf(candidate, *base); },
      [&answered, &inside_lookup, &head, alive, this, base](cache::EntryPtr memo) {
        if (alive.expired()) {
          return;  // the request went away while the store looked
        }
        cache::EntryPtr projected = memo ? std::move(memo) : projectNew(base);
        if (inside_lookup) {
          answered = true;
          useProjection(head, std::move(projected));
          return;
        }
        useProjection(callbacks().heldResponse(), std::move(projected));
        callbacks().continueResponse();
      });
  inside_lookup = false;
  return answered ? FilterStatus::Continue : FilterStatus::Stop;
}

// A new projection of `base`, memoised if the class says so; null when the body is not valid
// JSON (the entry is then served as it is).
cache::EntryPtr FieldsFilter::projectNew(const cache::EntryPtr& base) {
  std::shared_ptr<cache::CachedEntry> projected = projectEntry(
      *base, *selection_, {config_.fields->envelope}, projectionKey(base->key, *selection_));
  if (!projected) {
    countInvalidJson();
    return nullptr;
  }
  if (config_.fields->memoize) {
    services_.cache->store.insert(projected);
  }
  return projected;
}

void FieldsFilter::useProjection(ResponseHead& head, cache::EntryPtr projected) {
  if (!projected) {
    return;  // invalid JSON: served as it is
  }
  replacement_ = projected->body;
  if (config_.fields->memoize) {
    head = ResponseHead::fromEntry(std::move(projected));
    return;
  }
  // Not kept: a body of its own, sent whole like any held response.
  head.headers = projected->headers;
  head.headers.appendToList("Via", http::kVia);
  head.status = projected->status;
  head.reason = projected->reason;
  head.content_length = projected->body->size();
  head.entry.reset();
  head.materialised = true;
}

void FieldsFilter::countInvalidJson() {
  services_.cache->invalid_json.fetch_add(1, std::memory_order_relaxed);
  callbacks().context().invalid_json = true;
}

}  // namespace edge::filters
