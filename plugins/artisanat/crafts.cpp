#include "crafts.hpp"

#include <string>

#include "office_sheet.hpp"

namespace exportsync::artisanat {
namespace {

// Calls `fn` on each '|'-separated part of `list`; stops when it returns true.
template <typename Fn>
bool anyOf(std::string_view list, Fn fn) {
  while (!list.empty()) {
    const size_t bar = list.find('|');
    if (fn(list.substr(0, bar))) {
      return true;
    }
    list = bar == std::string_view::npos ? std::string_view() : list.substr(bar + 1);
  }
  return false;
}

}  // namespace

const Craft* findCraft(std::string_view text) {
  const std::string key = office_sheet::foldKey(text);
  if (key.empty()) {
    return nullptr;
  }
  for (const auto& craft : kCrafts) {
    const auto same = [&key](std::string_view name) { return office_sheet::foldKey(name) == key; };
    if (same(craft.code) || same(craft.label_fr) || anyOf(craft.aliases, same)) {
      return &craft;
    }
  }
  return nullptr;
}

const Craft& craftForHs(std::string_view hs_code) {
  const std::string_view heading = hs_code.substr(0, 4);
  for (const auto& craft : kCrafts) {
    if (anyOf(craft.headings, [heading](std::string_view h) { return h == heading; })) {
      return craft;
    }
  }
  return kCrafts.back();
}

std::string craftList() {
  std::string out;
  for (const auto& craft : kCrafts) {
    const std::string_view first = craft.aliases.substr(0, craft.aliases.find('|'));
    out += (out.empty() ? "" : ", ") + std::string(first);
  }
  return out;
}

}  // namespace exportsync::artisanat
