#include "kube-sim/protobuf_namespace.h"

#include <gtest/gtest.h>

namespace berth::kubesim {
namespace {

// A length-delimited protobuf field (lengths < 128 in these tests).
std::string field(int number, std::string_view bytes) {
  std::string out;
  out.push_back(static_cast<char>((number << 3) | 2));
  out.push_back(static_cast<char>(bytes.size()));
  out.append(bytes);
  return out;
}

std::string envelope(std::string_view api_version, std::string_view kind, std::string_view raw) {
  return std::string("k8s\0", 4) + field(1, field(1, api_version) + field(2, kind)) + field(2, raw) +
         field(3, "") + field(4, "");
}

TEST(ProtobufNamespace, DecodesNameLabelsAndAnnotations) {
  std::string meta = field(1, "tenant-a") + field(2, "") + field(11, field(1, "team") + field(2, "db")) +
                     field(12, field(1, "note") + field(2, "x"));
  std::string ns = field(1, meta) + field(2, "") + field(3, "");
  auto decoded = decode_protobuf_namespace(envelope("v1", "Namespace", ns));
  ASSERT_TRUE(decoded) << decoded.error().describe();
  EXPECT_EQ((*decoded)["kind"], "Namespace");
  EXPECT_EQ((*decoded)["metadata"]["name"], "tenant-a");
  EXPECT_FALSE((*decoded)["metadata"].contains("generateName"));
  EXPECT_EQ((*decoded)["metadata"]["labels"]["team"], "db");
  EXPECT_EQ((*decoded)["metadata"]["annotations"]["note"], "x");
}

TEST(ProtobufNamespace, RejectsOtherKindsAndGarbage) {
  auto service = decode_protobuf_namespace(envelope("v1", "Service", field(1, field(1, "web"))));
  ASSERT_FALSE(service);
  EXPECT_EQ(service.error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(decode_protobuf_namespace("{\"kind\":\"Namespace\"}").error().code, ErrorCode::kParse);
  std::string truncated = envelope("v1", "Namespace", field(1, field(1, "abc")));
  truncated.resize(truncated.size() - 6);
  EXPECT_FALSE(decode_protobuf_namespace(truncated));
}

}  // namespace
}  // namespace berth::kubesim
