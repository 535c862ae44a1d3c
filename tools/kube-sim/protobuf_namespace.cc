#include "kube-sim/protobuf_namespace.h"

#include <cstdint>
#include <optional>
#include <string>

namespace berth::kubesim {
namespace {

constexpr std::string_view kMagic{"k8s\0", 4};

// A cursor over protobuf wire format: fields of varint or length-delimited type; the fixed
// 32/64-bit types are skipped.
class Reader {
 public:
  explicit Reader(std::string_view data) : data_(data) {}

  bool done() const { return pos_ >= data_.size(); }

  std::optional<std::uint64_t> varint() {
    std::uint64_t value = 0;
    for (int shift = 0; shift < 64 && pos_ < data_.size(); shift += 7) {
      auto byte = static_cast<unsigned char>(data_[pos_++]);
      value |= static_cast<std::uint64_t>(byte & 0x7f) << shift;
      if ((byte & 0x80) == 0) return value;
    }
    return std::nullopt;
  }

  struct Field {
    std::uint64_t number = 0;
    int wire_type = 0;
    std::uint64_t value = 0;  // wire type 0
    std::string_view bytes;   // wire type 2
  };

  // The next field; std::nullopt at the end or on malformed input (failed() tells which).
  std::optional<Field> next() {
    if (done()) return std::nullopt;
    auto tag = varint();
    if (!tag) return fail();
    Field field{*tag >> 3, static_cast<int>(*tag & 7), 0, {}};
    switch (field.wire_type) {
      case 0: {
        auto v = varint();
        if (!v) return fail();
        field.value = *v;
        break;
      }
      case 1:
        if (data_.size() - pos_ < 8) return fail();
        pos_ += 8;
        break;
      case 2: {
        auto len = varint();
        if (!len || *len > data_.size() - pos_) return fail();
        field.bytes = data_.substr(pos_, *len);
        pos_ += *len;
        break;
      }
      case 5:
        if (data_.size() - pos_ < 4) return fail();
        pos_ += 4;
        break;
      default:
        return fail();
    }
    return field;
  }

  bool failed() const { return failed_; }

 private:
  std::nullopt_t fail() {
    failed_ = true;
    return std::nullopt;
  }

  std::string_view data_;
  std::size_t pos_ = 0;
  bool failed_ = false;
};

std::unexpected<Error> malformed() { return make_error(ErrorCode::kParse, "malformed protobuf body", 400); }

// A map<string,string> entry: {1: key, 2: value}.
Result<std::pair<std::string, std::string>> map_entry(std::string_view bytes) {
  Reader r(bytes);
  std::pair<std::string, std::string> entry;
  while (auto f = r.next()) {
    if (f->wire_type != 2) continue;
    if (f->number == 1) entry.first = std::string(f->bytes);
    if (f->number == 2) entry.second = std::string(f->bytes);
  }
  if (r.failed()) return malformed();
  return entry;
}

Result<nlohmann::json> object_meta(std::string_view bytes) {
  Reader r(bytes);
  nlohmann::json meta = nlohmann::json::object();
  while (auto f = r.next()) {
    // Go's generated marshalling writes empty strings too; an empty field is an unset one.
    if (f->wire_type != 2 || f->bytes.empty()) continue;
    switch (f->number) {
      case 1: meta["name"] = std::string(f->bytes); break;
      case 2: meta["generateName"] = std::string(f->bytes); break;
      case 11:
      case 12: {
        auto entry = map_entry(f->bytes);
        if (!entry) return std::unexpected(entry.error());
        meta[f->number == 11 ? "labels" : "annotations"][entry->first] = entry->second;
        break;
      }
      default: break;
    }
  }
  if (r.failed()) return malformed();
  return meta;
}

}  // namespace

Result<nlohmann::json> decode_protobuf_namespace(std::string_view body) {
  if (!body.starts_with(kMagic)) return malformed();
  Reader envelope(body.substr(kMagic.size()));
  std::string api_version;
  std::string kind;
  std::string_view raw;
  while (auto f = envelope.next()) {
    if (f->wire_type != 2) continue;
    if (f->number == 1) {
      Reader type_meta(f->bytes);
      while (auto t = type_meta.next()) {
        if (t->wire_type != 2) continue;
        if (t->number == 1) api_version = std::string(t->bytes);
        if (t->number == 2) kind = std::string(t->bytes);
      }
      if (type_meta.failed()) return malformed();
    } else if (f->number == 2) {
      raw = f->bytes;
    }
  }
  if (envelope.failed()) return malformed();
  if (api_version != "v1" || kind != "Namespace") {
    return make_error(ErrorCode::kInvalidArgument, "kube-sim decodes protobuf only for v1 Namespace, not " +
                                                       api_version + " " + kind + "; send application/json");
  }
  nlohmann::json object = {{"apiVersion", "v1"}, {"kind", "Namespace"}, {"metadata", nlohmann::json::object()}};
  Reader ns(raw);
  while (auto f = ns.next()) {
    if (f->number == 1 && f->wire_type == 2) {
      auto meta = object_meta(f->bytes);
      if (!meta) return std::unexpected(meta.error());
      object["metadata"] = std::move(*meta);
    }
  }
  if (ns.failed()) return malformed();
  return object;
}

}  // namespace berth::kubesim
