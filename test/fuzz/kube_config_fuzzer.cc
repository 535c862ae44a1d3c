// Feeds: the input bytes as a kubeconfig file, loaded by load_kubeconfig() with the file's own
// current-context and with the context "dev". The file lies in a scratch folder beside a CA
// file and a token file, so relative and absolute paths to files that exist are reachable.
// The bytes also go through decode_base64() (the *-data fields) on their own.
//
// Asserts, beyond no crash, leak, undefined behaviour or escaping exception:
//   - a loaded config is usable as the header promises: server is an http(s) URL without a
//     trailing '/', a client certificate comes with a key and a key with a certificate, file
//     fields are absolute paths to regular files, the default namespace is not empty;
//   - an error is one line (no newline or NUL from the file reaches it) and its message names
//     the kubeconfig;
//   - decode_base64 inverts RFC 4648 encoding: decode(encode(bytes)) == bytes.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>

#include "fuzz_check.h"
#include "scratch_dir.h"
#include "kube/kube_config.h"

namespace {

namespace fs = std::filesystem;
using berth::fuzz::require;
using berth::fuzz::make_scratch_dir;
using berth::fuzz::scratch_dir;

void write_text(const fs::path& path, std::string_view text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(text.data(), static_cast<std::streamsize>(text.size()));
}

std::string encode_base64(std::string_view bytes) {
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  std::size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    unsigned triple = (unsigned(std::uint8_t(bytes[i])) << 16) | (unsigned(std::uint8_t(bytes[i + 1])) << 8) |
                      unsigned(std::uint8_t(bytes[i + 2]));
    for (int shift : {18, 12, 6, 0}) out.push_back(kAlphabet[(triple >> shift) & 63]);
  }
  if (std::size_t rest = bytes.size() - i; rest > 0) {
    unsigned triple = unsigned(std::uint8_t(bytes[i])) << 16;
    if (rest == 2) triple |= unsigned(std::uint8_t(bytes[i + 1])) << 8;
    out.push_back(kAlphabet[(triple >> 18) & 63]);
    out.push_back(kAlphabet[(triple >> 12) & 63]);
    out.push_back(rest == 2 ? kAlphabet[(triple >> 6) & 63] : '=');
    out.push_back('=');
  }
  return out;
}

void check_loaded(const berth::kube::KubeConfig& config) {
  const std::string& server = config.server;
  require(server.starts_with("https://") || server.starts_with("http://"), "server is an http(s) URL", server);
  require(!server.ends_with('/'), "server has no trailing '/'", server);
  require(!config.default_namespace.empty(), "a default namespace");
  const bool has_cert = !config.client_cert_pem.empty() || !config.client_cert_file.empty();
  const bool has_key = !config.client_key_pem.empty() || !config.client_key_file.empty();
  require(has_cert == has_key, "a client certificate comes with a key");
  for (const std::string* file : {&config.ca_file, &config.token_file, &config.client_cert_file,
                                  &config.client_key_file}) {
    if (file->empty()) continue;
    require(fs::path(*file).is_absolute(), "file fields are absolute", *file);
    require(fs::is_regular_file(*file), "file fields name regular files", *file);
  }
}

void check_error(const berth::Error& error) {
  require(error.message.find('\n') == std::string::npos, "an error is one line", error.message);
  require(error.message.find('\0') == std::string::npos, "an error holds no NUL", error.message);
  require(error.message.starts_with("kubeconfig "), "an error names the kubeconfig", error.message);
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  make_scratch_dir("kube-config-fuzzer");
  write_text(scratch_dir() / "ca.crt", "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n");
  write_text(scratch_dir() / "token", "fuzz-token\n");
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  const fs::path file = scratch_dir() / "config";
  write_text(file, bytes);
  for (std::string_view context : {std::string_view(), std::string_view("dev")}) {
    auto loaded = berth::kube::load_kubeconfig(file, context);
    if (loaded) {
      check_loaded(*loaded);
    } else {
      check_error(loaded.error());
    }
  }
  (void)berth::kube::decode_base64(bytes);
  auto round_trip = berth::kube::decode_base64(encode_base64(bytes));
  require(round_trip && *round_trip == bytes, "decode_base64(encode(bytes)) == bytes");
  return 0;
}
