#include "lib/cache/tags.h"

#include <gtest/gtest.h>

namespace edge::cache {
namespace {

TEST(Tags, TemplatesExpandFromHeadersPathAndQuery) {
  config::RouteClass c;
  c.tags = {"org:{header.x-org-id}:wo:{path.4}", "site:{query.site}", "lists"};
  http::Headers req;
  req.add("X-Org-Id", "42");
  http::Headers resp;
  auto tags = expandTags(c, {"/api/v1/work-orders/17?site=9", &req, &resp});
  EXPECT_EQ(tags, (std::vector<std::string>{"org:42:wo:17", "site:9", "lists"}));
}

TEST(Tags, ATemplateWithAMissingValueIsSkipped) {
  config::RouteClass c;
  c.tags = {"org:{header.x-org-id}", "seg:{path.9}", "q:{query.none}"};
  http::Headers req;
  http::Headers resp;
  EXPECT_TRUE(expandTags(c, {"/a/b", &req, &resp}).empty());
}

TEST(Tags, OriginSurrogateKeyAndCacheTagAreAddedWithoutDuplicates) {
  config::RouteClass c;
  c.tags = {"wo"};
  http::Headers req;
  http::Headers resp;
  resp.add("Surrogate-Key", "wo  site:3");
  resp.add("Cache-Tag", "site:3, dash ,");
  EXPECT_EQ(expandTags(c, {"/", &req, &resp}),
            (std::vector<std::string>{"wo", "site:3", "dash"}));
}

}  // namespace
}  // namespace edge::cache
