#include "api/query_params.hpp"

#include <charconv>

#include <boost/url/parse_query.hpp>

#include "common/text.hpp"

namespace rtgw::api {

Result<QueryParams> QueryParams::Parse(std::string_view query,
                                       std::span<const QueryParamSpec> allowed,
                                       bool ignore_unknown) {
  QueryParams out;
  if (query.empty()) return out;
  auto parsed = boost::urls::parse_query(query);
  if (!parsed) {
    return InvalidArgument("query: malformed query string (" + parsed.error().message() + ")");
  }
  std::vector<std::size_t> counts(allowed.size(), 0);
  boost::urls::encoding_opts form;
  form.space_as_plus = true;
  for (auto param : *parsed) {
    if (param.key.empty() && !param.has_value) continue;  // "a=1&&b=2"
    std::string name = param.key.decode(form);
    std::size_t i = 0;
    while (i < allowed.size() && allowed[i].name != name) ++i;
    if (i == allowed.size()) {
      if (ignore_unknown) continue;
      if (HasControlChars(name))
        return InvalidArgument("query: a parameter name has control characters");
      std::string names;
      for (const QueryParamSpec& spec : allowed) {
        names += (names.empty() ? "" : ", ") + std::string(spec.name);
      }
      return InvalidArgument(name + ": unknown query parameter; this route takes " +
                             (names.empty() ? std::string("none") : names));
    }
    if (++counts[i] > allowed[i].max_count) {
      return InvalidArgument(allowed[i].max_count == 1
                                 ? name + ": must not repeat"
                                 : name + ": at most " + std::to_string(allowed[i].max_count) +
                                       " values");
    }
    Param p{std::move(name), param.has_value ? param.value.decode(form) : std::string(),
            param.has_value};
    if (HasControlChars(p.value)) {
      return InvalidArgument(p.name + ": must not contain control characters (C0, DEL, C1)");
    }
    out.params_.push_back(std::move(p));
  }
  return out;
}

const QueryParams::Param* QueryParams::First(std::string_view name) const {
  for (const Param& p : params_) {
    if (p.name == name) return &p;
  }
  return nullptr;
}

bool QueryParams::Has(std::string_view name) const { return First(name) != nullptr; }

std::vector<std::string> QueryParams::All(std::string_view name) const {
  std::vector<std::string> out;
  for (const Param& p : params_) {
    if (p.name == name) out.push_back(p.value);
  }
  return out;
}

Result<std::string> QueryParams::Check(const schema::StringField& field, std::string value) {
  const std::string name(field.name);
  if (value.empty()) return InvalidArgument(name + ": must not be empty");
  if (static_cast<std::int64_t>(value.size()) > field.max_chars) {
    return InvalidArgument(name + ": must be at most " + std::to_string(field.max_chars) +
                           " characters");
  }
  if (HasControlChars(value)) {
    return InvalidArgument(name + ": must not contain control characters (C0, DEL, C1)");
  }
  if (!schema::Matches(field, value)) {
    return InvalidArgument(name + ": may contain only " + schema::CharsetText(field));
  }
  return value;
}

Result<std::optional<std::string>> QueryParams::String(const schema::StringField& field) const {
  const Param* p = First(field.name);
  if (p == nullptr) return std::optional<std::string>();
  auto checked = Check(field, p->value);
  if (!checked) return checked.error();
  return std::optional<std::string>(std::move(checked).value());
}

Result<std::vector<std::string>> QueryParams::Strings(const schema::StringField& field) const {
  std::vector<std::string> out;
  for (std::string& value : All(field.name)) {
    auto checked = Check(field, std::move(value));
    if (!checked) return checked.error();
    out.push_back(std::move(checked).value());
  }
  return out;
}

Result<std::optional<std::int64_t>> QueryParams::Integer(const schema::IntegerField& field) const {
  const Param* p = First(field.name);
  if (p == nullptr) return std::optional<std::int64_t>();
  const std::string& text = p->value;
  std::int64_t value = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc() || ptr != text.data() + text.size() || value < field.min ||
      value > field.max) {
    return InvalidArgument(std::string(field.name) + ": must be an integer from " +
                           std::to_string(field.min) + " to " + std::to_string(field.max));
  }
  return std::optional<std::int64_t>(value);
}

bool QueryParams::Flag(std::string_view name) const {
  const Param* p = First(name);
  return p != nullptr && (!p->has_value || p->value == "1" || p->value == "true");
}

std::vector<std::string_view> SplitCommaList(std::string_view text) {
  std::vector<std::string_view> items;
  for (;;) {
    const std::size_t comma = text.find(',');
    items.push_back(text.substr(0, comma));
    if (comma == std::string_view::npos) return items;
    text.remove_prefix(comma + 1);
  }
}

}  // namespace rtgw::api
