#include "controller/annotation_keys.h"

#include <string>

#include <gtest/gtest.h>

namespace berth::controller {
namespace {

kube::ObjectMeta meta_with(std::map<std::string, std::string> annotations) {
  kube::ObjectMeta meta;
  meta.name = "db";
  meta.namespace_ = "team";
  meta.annotations = std::move(annotations);
  return meta;
}

TEST(AnnotationKeysTest, DefaultsMatchTheSystemBerthGrewFrom) {
  AnnotationConfig config;
  EXPECT_TRUE(validate(config).has_value());
  EXPECT_EQ(allocation_key(config, 3306), "haproxy-ingress/3306");
  EXPECT_EQ(quarantine_key(config), "haproxy-ingress/quarantine");
}

TEST(AnnotationKeysTest, IsMarked) {
  AnnotationConfig defaults;
  AnnotationConfig custom{.class_annotation = "example.com/expose", .ingress_class = "db", .prefix = "ports.example.com"};
  struct Case {
    const char* name;
    std::map<std::string, std::string> annotations;
    const AnnotationConfig& config;
    bool marked;
  };
  const Case cases[] = {
      {"marked", {{"ingress", "haproxy-ingress"}}, defaults, true},
      {"no annotations", {}, defaults, false},
      {"other class", {{"ingress", "nginx"}}, defaults, false},
      {"value case matters", {{"ingress", "HAProxy-Ingress"}}, defaults, false},
      {"value with space", {{"ingress", "haproxy-ingress "}}, defaults, false},
      {"empty value", {{"ingress", ""}}, defaults, false},
      {"other key with the class", {{"kubernetes.io/ingress.class", "haproxy-ingress"}}, defaults, false},
      {"custom key and class", {{"example.com/expose", "db"}}, custom, true},
      {"custom config ignores the default marker", {{"ingress", "haproxy-ingress"}}, custom, false},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(is_marked(meta_with(c.annotations), c.config), c.marked) << c.name;
  }
}

TEST(AnnotationKeysTest, CustomPrefix) {
  AnnotationConfig config{.prefix = "ports.example.com"};
  EXPECT_EQ(allocation_key(config, 5432), "ports.example.com/5432");
  EXPECT_TRUE(is_allocation_key(config, "ports.example.com/5432"));
  EXPECT_FALSE(is_allocation_key(config, "haproxy-ingress/5432"));
}

TEST(AnnotationKeysTest, IsAllocationKey) {
  AnnotationConfig config;
  struct Case {
    const char* key;
    bool allocation;
  };
  const Case cases[] = {
      {"haproxy-ingress/3306", true},
      {"haproxy-ingress/03306", true},  // digits: an allocation key, stale because not canonical
      {"haproxy-ingress/0", true},
      {"haproxy-ingress/check", false},
      {"haproxy-ingress/backend", false},
      {"haproxy-ingress/3306a", false},
      {"haproxy-ingress/", false},
      {"haproxy-ingress", false},
      {"haproxy-ingressx/3306", false},
      {"x.haproxy-ingress/3306", false},
      {"3306", false},
      {"ingress", false},
  };
  for (const Case& c : cases) EXPECT_EQ(is_allocation_key(config, c.key), c.allocation) << c.key;
}

TEST(AnnotationKeysTest, NameUnderPrefix) {
  AnnotationConfig config;
  EXPECT_EQ(name_under_prefix(config, "haproxy-ingress/check"), "check");
  EXPECT_EQ(name_under_prefix(config, "haproxy-ingress/"), "");
  EXPECT_EQ(name_under_prefix(config, "haproxy-ingressx/check"), std::nullopt);
  EXPECT_EQ(name_under_prefix(config, "haproxy-ingress"), std::nullopt);
}

TEST(AnnotationKeysTest, ValidateRejectsBadConfigsNamingTheFlag) {
  struct Case {
    const char* name;
    AnnotationConfig config;
    const char* flag;  // nullptr: valid
  };
  const std::string long_label(64, 'a');
  const std::string long_subdomain = long_label.substr(0, 63) + "." + long_label.substr(0, 63) + "." +
                                     long_label.substr(0, 63) + "." + long_label.substr(0, 63);  // 255
  const Case cases[] = {
      {"defaults", {}, nullptr},
      {"dotted prefix", {.prefix = "ports.example.com"}, nullptr},
      {"63-char label", {.prefix = long_label.substr(0, 63)}, nullptr},
      {"253-char prefix", {.prefix = long_subdomain.substr(0, 253)}, nullptr},
      {"254-char prefix", {.prefix = long_subdomain.substr(0, 252) + "ab"}, "--annotation-prefix"},
      {"empty prefix", {.prefix = ""}, "--annotation-prefix"},
      {"uppercase prefix", {.prefix = "HAProxy"}, "--annotation-prefix"},
      {"prefix with slash", {.prefix = "a/b"}, "--annotation-prefix"},
      {"prefix ending in dash", {.prefix = "haproxy-"}, "--annotation-prefix"},
      {"prefix with empty label", {.prefix = "a..b"}, "--annotation-prefix"},
      {"prefix with underscore", {.prefix = "a_b"}, "--annotation-prefix"},
      {"class with prefix", {.class_annotation = "kubernetes.io/ingress.class"}, nullptr},
      {"class with underscore", {.class_annotation = "my_ingress"}, nullptr},
      {"empty class annotation", {.class_annotation = ""}, "--class-annotation"},
      {"class with space", {.class_annotation = "in gress"}, "--class-annotation"},
      {"class ending in dot", {.class_annotation = "ingress."}, "--class-annotation"},
      {"class name part too long", {.class_annotation = long_label}, "--class-annotation"},
      {"class with bad prefix", {.class_annotation = "Example.com/ingress"}, "--class-annotation"},
      {"class with two slashes", {.class_annotation = "a/b/c"}, "--class-annotation"},
      {"class with empty name", {.class_annotation = "example.com/"}, "--class-annotation"},
      {"class is an allocation key", {.class_annotation = "haproxy-ingress/80"}, "--class-annotation"},
      {"class is the quarantine key", {.class_annotation = "haproxy-ingress/quarantine"}, "--class-annotation"},
      {"class is an option key", {.class_annotation = "haproxy-ingress/expose"}, nullptr},
      {"empty ingress class", {.ingress_class = ""}, "--ingress-class"},
  };
  for (const Case& c : cases) {
    Result<void> result = validate(c.config);
    if (c.flag == nullptr) {
      EXPECT_TRUE(result.has_value()) << c.name << ": " << result.error().message;
    } else {
      ASSERT_FALSE(result.has_value()) << c.name;
      EXPECT_EQ(result.error().code, ErrorCode::kInvalidArgument) << c.name;
      EXPECT_NE(result.error().message.find(c.flag), std::string::npos) << c.name << ": " << result.error().message;
    }
  }
}

}  // namespace
}  // namespace berth::controller
