#include "kube-sim/field_selector.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace berth::kubesim {
namespace {

using nlohmann::json;

json obj(std::string ns, std::string name) { return json{{"metadata", {{"namespace", ns}, {"name", name}}}}; }

struct SelectorCase {
  std::string selector;
  json object;
  bool matches;
};

class FieldSelectorMatchTest : public ::testing::TestWithParam<SelectorCase> {};

TEST_P(FieldSelectorMatchTest, Matches) {
  auto sel = FieldSelector::parse(GetParam().selector);
  ASSERT_TRUE(sel.has_value()) << sel.error().message;
  EXPECT_EQ(sel->matches(GetParam().object), GetParam().matches);
}

INSTANTIATE_TEST_SUITE_P(
    Semantics, FieldSelectorMatchTest,
    ::testing::Values(SelectorCase{"", obj("a", "b"), true}, SelectorCase{"metadata.name=b", obj("a", "b"), true},
                      SelectorCase{"metadata.name==b", obj("a", "b"), true}, SelectorCase{"metadata.name=c", obj("a", "b"), false},
                      SelectorCase{"metadata.name!=b", obj("a", "b"), false},
                      SelectorCase{"metadata.namespace=a,metadata.name!=c", obj("a", "b"), true},
                      SelectorCase{" metadata.namespace = a ", obj("a", "b"), true},
                      SelectorCase{"metadata.namespace!=kube-system", obj("kube-system", "x"), false}));

TEST(FieldSelectorTest, RejectsUnsupportedFieldsAndMissingOperators) {
  auto bad_field = FieldSelector::parse("spec.clusterIP=1.2.3.4");
  ASSERT_FALSE(bad_field.has_value());
  EXPECT_EQ(bad_field.error().http_status, 400);
  EXPECT_EQ(bad_field.error().message, "field label not supported: spec.clusterIP");
  auto no_op = FieldSelector::parse("metadata.name");
  ASSERT_FALSE(no_op.has_value());
  EXPECT_EQ(no_op.error().code, ErrorCode::kInvalidArgument);
}

TEST(FieldSelectorTest, ObjectLabels) {
  json o = {{"metadata", {{"labels", {{"a", "1"}, {"b", 2}}}}}};
  EXPECT_EQ(object_labels(o), (std::map<std::string, std::string>{{"a", "1"}}));
  EXPECT_TRUE(object_labels(json::object()).empty());
}

}  // namespace
}  // namespace berth::kubesim
