#include "kube/label_selector.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace berth::kube {
namespace {

using ::testing::HasSubstr;
using Labels = std::map<std::string, std::string>;

struct ValidCase {
  std::string text;
  std::string canonical;
};

class LabelSelectorValidTest : public ::testing::TestWithParam<ValidCase> {};

TEST_P(LabelSelectorValidTest, ParsesToCanonicalForm) {
  auto sel = LabelSelector::parse(GetParam().text);
  ASSERT_TRUE(sel.has_value()) << sel.error().message;
  EXPECT_EQ(sel->to_string(), GetParam().canonical);
  auto again = LabelSelector::parse(sel->to_string());
  ASSERT_TRUE(again.has_value());
  EXPECT_EQ(again->to_string(), GetParam().canonical);
}

INSTANTIATE_TEST_SUITE_P(
    Grammar, LabelSelectorValidTest,
    ::testing::Values(ValidCase{"", ""}, ValidCase{"   ", ""}, ValidCase{"app=db", "app=db"},
                      ValidCase{"app==db", "app=db"}, ValidCase{" app = db ", "app=db"},
                      ValidCase{"app!=db", "app!=db"}, ValidCase{"app=", "app="},
                      ValidCase{"tier,!legacy", "!legacy,tier"},
                      ValidCase{"env in (prod, stage,prod)", "env in (prod,stage)"},
                      ValidCase{"env notin (b,a)", "env notin (a,b)"},
                      ValidCase{"example.com/app=x,app=db", "app=db,example.com/app=x"},
                      ValidCase{"a.b_c-D=Val.1_-z", "a.b_c-D=Val.1_-z"},
                      ValidCase{"in=notin", "in=notin"},
                      ValidCase{"app=db,tier!=cache,env in (prod,stage),owner notin (x),managed,!legacy",
                                "app=db,env in (prod,stage),!legacy,managed,owner notin (x),tier!=cache"}));

struct InvalidCase {
  std::string text;
  std::string message_part;
};

class LabelSelectorInvalidTest : public ::testing::TestWithParam<InvalidCase> {};

TEST_P(LabelSelectorInvalidTest, IsRejectedWithAMessage) {
  auto sel = LabelSelector::parse(GetParam().text);
  ASSERT_FALSE(sel.has_value()) << GetParam().text;
  EXPECT_EQ(sel.error().code, ErrorCode::kInvalidArgument);
  EXPECT_THAT(sel.error().message, HasSubstr(GetParam().message_part));
  EXPECT_THAT(sel.error().message, HasSubstr("invalid label selector"));
}

INSTANTIATE_TEST_SUITE_P(
    Grammar, LabelSelectorInvalidTest,
    ::testing::Values(InvalidCase{"app=db,", "expected: a requirement after ','"},
                      InvalidCase{",app", "found ',', expected: identifier"},
                      InvalidCase{"app db", "found 'db', expected: '=', '!=', '==', 'in', 'notin' or ','"},
                      InvalidCase{"app in prod", "found 'prod', expected: '('"},
                      InvalidCase{"app in (a,b", "found end of input, expected: ',' or ')'"},
                      InvalidCase{"app in ()", "values set can't be empty"},
                      InvalidCase{"app=a=b", "found '=', expected: ','"},
                      InvalidCase{"!", "found end of input, expected: identifier"},
                      InvalidCase{"-app=x", "invalid label key \"-app\""},
                      InvalidCase{"Example.com/app=x", "invalid label key \"Example.com/app\": prefix part"},
                      InvalidCase{"app=-x", "invalid label value \"-x\""},
                      InvalidCase{"app=" + std::string(64, 'a'), "invalid label value"},
                      InvalidCase{std::string(64, 'k') + "=x", "invalid label key"},
                      InvalidCase{"app=(x)", "found '(', expected: identifier"}));

TEST(LabelSelectorTest, EmptySelectorMatchesEverything) {
  LabelSelector sel;
  EXPECT_TRUE(sel.empty());
  EXPECT_TRUE(sel.matches({}));
  EXPECT_TRUE(sel.matches({{"a", "b"}}));
}

struct MatchCase {
  std::string selector;
  Labels labels;
  bool matches;
};

class LabelSelectorMatchTest : public ::testing::TestWithParam<MatchCase> {};

TEST_P(LabelSelectorMatchTest, Matches) {
  auto sel = LabelSelector::parse(GetParam().selector);
  ASSERT_TRUE(sel.has_value()) << sel.error().message;
  EXPECT_EQ(sel->matches(GetParam().labels), GetParam().matches);
}

INSTANTIATE_TEST_SUITE_P(
    Semantics, LabelSelectorMatchTest,
    ::testing::Values(MatchCase{"app=db", {{"app", "db"}}, true}, MatchCase{"app=db", {{"app", "web"}}, false},
                      MatchCase{"app=db", {}, false},
                      // != and notin match objects without the label, as in Kubernetes.
                      MatchCase{"app!=db", {}, true}, MatchCase{"app!=db", {{"app", "db"}}, false},
                      MatchCase{"env in (a,b)", {{"env", "b"}}, true}, MatchCase{"env in (a,b)", {}, false},
                      MatchCase{"env notin (a,b)", {{"env", "c"}}, true},
                      MatchCase{"env notin (a,b)", {{"env", "a"}}, false}, MatchCase{"env notin (a,b)", {}, true},
                      MatchCase{"managed", {{"managed", ""}}, true}, MatchCase{"managed", {}, false},
                      MatchCase{"!legacy", {}, true}, MatchCase{"!legacy", {{"legacy", "x"}}, false},
                      MatchCase{"app=", {{"app", ""}}, true}, MatchCase{"app=", {{"app", "x"}}, false},
                      MatchCase{"app=db,tier!=cache", {{"app", "db"}, {"tier", "web"}}, true},
                      MatchCase{"app=db,tier!=cache", {{"app", "db"}, {"tier", "cache"}}, false}));

TEST(LabelSelectorTest, RequirementsAreExposed) {
  auto sel = LabelSelector::parse("env in (stage,prod),app=db");
  ASSERT_TRUE(sel.has_value());
  ASSERT_EQ(sel->requirements().size(), 2u);
  EXPECT_EQ(sel->requirements()[0].key, "app");
  EXPECT_EQ(sel->requirements()[0].op, LabelSelector::Operator::kEquals);
  EXPECT_EQ(sel->requirements()[1].op, LabelSelector::Operator::kIn);
  EXPECT_EQ(sel->requirements()[1].values, (std::vector<std::string>{"prod", "stage"}));
}

}  // namespace
}  // namespace berth::kube
