// Decoding of the one protobuf request body kube-sim accepts: a Namespace, as typed client-go
// clients send it (`kubectl create namespace <name>` encodes with protobuf and, unlike for a
// 415 under CBOR, does not fall back to JSON).
//
// The body is kube-apiserver's protobuf envelope: the magic bytes "k8s\0" and a runtime.Unknown
// {typeMeta{apiVersion, kind}, raw}. Only v1 Namespace is decoded, and of it only metadata
// name, generateName, labels and annotations (all such a client sets); other kinds are
// kInvalidArgument, so the caller answers 415 and the client learns to send JSON.
//
// Thread-safety: pure functions.
#pragma once

#include <string_view>

#include <nlohmann/json.hpp>

#include "common/error.h"

namespace berth::kubesim {

inline constexpr std::string_view kProtobufMediaType = "application/vnd.kubernetes.protobuf";

// The Namespace as JSON (apiVersion, kind, metadata). kParse for a malformed body,
// kInvalidArgument for any kind other than v1 Namespace.
Result<nlohmann::json> decode_protobuf_namespace(std::string_view body);

}  // namespace berth::kubesim
