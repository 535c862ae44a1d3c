#include "kube/label_selector.h"

#include <algorithm>
#include <cctype>
#include <optional>

#include <fmt/format.h>

namespace berth::kube {
namespace {

bool is_alnum(char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0; }

// [A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])? of at most 63 characters: label values and the
// name part of a qualified key.
bool is_label_token(std::string_view s) {
  if (s.empty() || s.size() > 63) return false;
  if (!is_alnum(s.front()) || !is_alnum(s.back())) return false;
  return std::all_of(s.begin(), s.end(), [](char c) { return is_alnum(c) || c == '-' || c == '_' || c == '.'; });
}

// A lowercase RFC 1123 subdomain: dot-separated labels of [a-z0-9-], at most 253 characters.
bool is_dns1123_subdomain(std::string_view s) {
  if (s.empty() || s.size() > 253) return false;
  std::size_t start = 0;
  while (true) {
    std::size_t dot = s.find('.', start);
    std::string_view part = s.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start);
    if (part.empty() || part.size() > 63) return false;
    auto lower_alnum = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); };
    if (!lower_alnum(part.front()) || !lower_alnum(part.back())) return false;
    if (!std::all_of(part.begin(), part.end(), [&](char c) { return lower_alnum(c) || c == '-'; })) return false;
    if (dot == std::string_view::npos) return true;
    start = dot + 1;
  }
}

std::optional<std::string> key_error(std::string_view key) {
  std::string_view name = key;
  if (auto slash = key.find('/'); slash != std::string_view::npos) {
    std::string_view prefix = key.substr(0, slash);
    name = key.substr(slash + 1);
    if (!is_dns1123_subdomain(prefix)) {
      return fmt::format("invalid label key \"{}\": prefix part must be a lowercase RFC 1123 subdomain", key);
    }
  }
  if (!is_label_token(name)) {
    return fmt::format(
        "invalid label key \"{}\": name part must consist of at most 63 alphanumeric characters, '-', '_' or '.', "
        "and must start and end with an alphanumeric character",
        key);
  }
  return std::nullopt;
}

std::optional<std::string> value_error(std::string_view value) {
  if (value.empty() || is_label_token(value)) return std::nullopt;
  return fmt::format(
      "invalid label value \"{}\": must be at most 63 characters, consist of alphanumeric characters, '-', '_' or "
      "'.', and must start and end with an alphanumeric character",
      value);
}

enum class Tok { kEnd, kIdent, kComma, kOpenParen, kCloseParen, kNot, kEquals, kDoubleEquals, kNotEquals, kIn, kNotIn };

struct Token {
  Tok kind = Tok::kEnd;
  std::string text;
};

bool is_special(char c) { return c == '!' || c == '=' || c == '(' || c == ')' || c == ','; }
bool is_space(char c) { return std::isspace(static_cast<unsigned char>(c)) != 0; }

std::vector<Token> lex(std::string_view s) {
  std::vector<Token> out;
  std::size_t i = 0;
  while (i < s.size()) {
    char c = s[i];
    if (is_space(c)) {
      ++i;
      continue;
    }
    if (c == ',') {
      out.push_back({Tok::kComma, ","});
      ++i;
    } else if (c == '(') {
      out.push_back({Tok::kOpenParen, "("});
      ++i;
    } else if (c == ')') {
      out.push_back({Tok::kCloseParen, ")"});
      ++i;
    } else if (c == '!') {
      if (i + 1 < s.size() && s[i + 1] == '=') {
        out.push_back({Tok::kNotEquals, "!="});
        i += 2;
      } else {
        out.push_back({Tok::kNot, "!"});
        ++i;
      }
    } else if (c == '=') {
      if (i + 1 < s.size() && s[i + 1] == '=') {
        out.push_back({Tok::kDoubleEquals, "=="});
        i += 2;
      } else {
        out.push_back({Tok::kEquals, "="});
        ++i;
      }
    } else {
      std::size_t start = i;
      while (i < s.size() && !is_space(s[i]) && !is_special(s[i])) ++i;
      std::string word(s.substr(start, i - start));
      Tok kind = word == "in" ? Tok::kIn : word == "notin" ? Tok::kNotIn : Tok::kIdent;
      out.push_back({kind, std::move(word)});
    }
  }
  return out;
}

class Parser {
 public:
  explicit Parser(std::vector<Token> tokens) : tokens_(std::move(tokens)) {}

  Result<std::vector<LabelSelector::Requirement>> parse() {
    std::vector<LabelSelector::Requirement> out;
    if (peek().kind == Tok::kEnd) return out;
    while (true) {
      auto req = requirement();
      if (!req) return std::unexpected(req.error());
      out.push_back(std::move(*req));
      const Token& t = take();
      if (t.kind == Tok::kEnd) return out;
      if (t.kind != Tok::kComma) return fail(fmt::format("found '{}', expected: ','", t.text));
      if (peek().kind == Tok::kEnd) return fail("found end of input, expected: a requirement after ','");
    }
  }

 private:
  const Token& peek() const { return pos_ < tokens_.size() ? tokens_[pos_] : end_; }
  const Token& take() { return pos_ < tokens_.size() ? tokens_[pos_++] : end_; }

  static std::unexpected<Error> fail(std::string what) {
    return make_error(ErrorCode::kInvalidArgument, fmt::format("unable to parse requirement: {}", what));
  }

  static std::string shown(const Token& t) { return t.kind == Tok::kEnd ? "end of input" : "'" + t.text + "'"; }

  Result<std::string> key() {
    const Token& t = take();
    // "in" and "notin" are keywords only in operator position; as a key they are just names.
    if (t.kind != Tok::kIdent && t.kind != Tok::kIn && t.kind != Tok::kNotIn) {
      return fail(fmt::format("found {}, expected: identifier", shown(t)));
    }
    if (auto err = key_error(t.text)) return make_error(ErrorCode::kInvalidArgument, *err);
    return t.text;
  }

  Result<std::string> value() {
    // An empty value ("a=" or "a in (,b)") is allowed, as in apimachinery.
    const Token& t = peek();
    if (t.kind == Tok::kEnd || t.kind == Tok::kComma || t.kind == Tok::kCloseParen) return std::string();
    if (t.kind != Tok::kIdent && t.kind != Tok::kIn && t.kind != Tok::kNotIn) {
      return fail(fmt::format("found {}, expected: identifier", shown(t)));
    }
    std::string v = take().text;
    if (auto err = value_error(v)) return make_error(ErrorCode::kInvalidArgument, *err);
    return v;
  }

  Result<LabelSelector::Requirement> requirement() {
    LabelSelector::Requirement req;
    if (peek().kind == Tok::kNot) {
      take();
      auto k = key();
      if (!k) return std::unexpected(k.error());
      req.key = *k;
      req.op = LabelSelector::Operator::kDoesNotExist;
      return req;
    }
    auto k = key();
    if (!k) return std::unexpected(k.error());
    req.key = *k;
    const Token& op = peek();
    switch (op.kind) {
      case Tok::kEnd:
      case Tok::kComma:
        req.op = LabelSelector::Operator::kExists;
        return req;
      case Tok::kEquals:
      case Tok::kDoubleEquals:
      case Tok::kNotEquals: {
        take();
        req.op = op.kind == Tok::kNotEquals ? LabelSelector::Operator::kNotEquals : LabelSelector::Operator::kEquals;
        auto v = value();
        if (!v) return std::unexpected(v.error());
        req.values.push_back(*v);
        return req;
      }
      case Tok::kIn:
      case Tok::kNotIn: {
        bool in = op.kind == Tok::kIn;
        take();
        req.op = in ? LabelSelector::Operator::kIn : LabelSelector::Operator::kNotIn;
        const Token& open = take();
        if (open.kind != Tok::kOpenParen) return fail(fmt::format("found {}, expected: '('", shown(open)));
        while (true) {
          auto v = value();
          if (!v) return std::unexpected(v.error());
          req.values.push_back(*v);
          const Token& t = take();
          if (t.kind == Tok::kCloseParen) break;
          if (t.kind != Tok::kComma) return fail(fmt::format("found {}, expected: ',' or ')'", shown(t)));
        }
        std::sort(req.values.begin(), req.values.end());
        req.values.erase(std::unique(req.values.begin(), req.values.end()), req.values.end());
        if (req.values.size() == 1 && req.values.front().empty() && tokens_[pos_ - 2].kind == Tok::kOpenParen) {
          return make_error(ErrorCode::kInvalidArgument,
                            fmt::format("for 'in', 'notin' operators, values set can't be empty (key \"{}\")", req.key));
        }
        return req;
      }
      default:
        return fail(fmt::format("found {}, expected: '=', '!=', '==', 'in', 'notin' or ','", shown(op)));
    }
  }

  std::vector<Token> tokens_;
  std::size_t pos_ = 0;
  Token end_;
};

}  // namespace

Result<LabelSelector> LabelSelector::parse(std::string_view text) {
  auto reqs = Parser(lex(text)).parse();
  if (!reqs) {
    Error e = reqs.error();
    e.message = fmt::format("invalid label selector \"{}\": {}", text, e.message);
    return std::unexpected(std::move(e));
  }
  // Sorted by key, as apimachinery does, so that to_string() is canonical.
  std::stable_sort(reqs->begin(), reqs->end(), [](const Requirement& a, const Requirement& b) { return a.key < b.key; });
  LabelSelector sel;
  sel.requirements_ = std::move(*reqs);
  return sel;
}

bool LabelSelector::matches(const std::map<std::string, std::string>& labels) const {
  for (const auto& r : requirements_) {
    auto it = labels.find(r.key);
    bool has = it != labels.end();
    bool in_set = has && std::binary_search(r.values.begin(), r.values.end(), it->second);
    bool ok = false;
    switch (r.op) {
      case Operator::kEquals:
        ok = has && it->second == r.values.front();
        break;
      case Operator::kIn:
        ok = in_set;
        break;
      case Operator::kNotEquals:
        ok = !has || it->second != r.values.front();
        break;
      case Operator::kNotIn:
        ok = !in_set;
        break;
      case Operator::kExists:
        ok = has;
        break;
      case Operator::kDoesNotExist:
        ok = !has;
        break;
    }
    if (!ok) return false;
  }
  return true;
}

std::string LabelSelector::to_string() const {
  std::string out;
  for (const auto& r : requirements_) {
    if (!out.empty()) out += ',';
    switch (r.op) {
      case Operator::kEquals:
        out += r.key + "=" + r.values.front();
        break;
      case Operator::kNotEquals:
        out += r.key + "!=" + r.values.front();
        break;
      case Operator::kIn:
      case Operator::kNotIn: {
        out += r.key + (r.op == Operator::kIn ? " in (" : " notin (");
        for (std::size_t i = 0; i < r.values.size(); ++i) out += (i ? "," : "") + r.values[i];
        out += ')';
        break;
      }
      case Operator::kExists:
        out += r.key;
        break;
      case Operator::kDoesNotExist:
        out += "!" + r.key;
        break;
    }
  }
  return out;
}

}  // namespace berth::kube
