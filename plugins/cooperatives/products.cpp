#include "products.hpp"

#include <string>

#include "office_sheet.hpp"

namespace exportsync::cooperatives {
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

std::string_view firstAlias(std::string_view aliases) {
  return aliases.substr(0, aliases.find('|'));
}

}  // namespace

const Product* findProduct(std::string_view text) {
  const std::string key = office_sheet::foldKey(text);
  if (key.empty()) {
    return nullptr;
  }
  for (const auto& product : kProducts) {
    const auto same = [&key](std::string_view name) { return office_sheet::foldKey(name) == key; };
    if (same(product.code) || same(product.label_fr) || anyOf(product.aliases, same)) {
      return &product;
    }
  }
  return nullptr;
}

const Product& productForHs(std::string_view hs_code) {
  const Product* found = nullptr;
  for (const auto& product : kProducts) {
    if (!product.default_hs.empty() && product.default_hs == hs_code.substr(0, 6)) {
      if (found != nullptr) {
        return kProducts.back();  // argan oil and prickly-pear seed oil share 1515.90
      }
      found = &product;
    }
  }
  return found != nullptr ? *found : kProducts.back();
}

std::string productList() {
  std::string out;
  for (const auto& product : kProducts) {
    out += (out.empty() ? "" : ", ") + std::string(firstAlias(product.aliases));
  }
  return out;
}

const Label* findLabel(std::string_view text) {
  const std::string key = office_sheet::foldKey(text);
  if (key.empty()) {
    return nullptr;
  }
  for (const auto& label : kLabels) {
    const auto matches = [&key](std::string_view alias) {
      const std::string a = office_sheet::foldKey(alias);
      return key == a ||
             (key.size() > a.size() && key.compare(0, a.size(), a) == 0 && key[a.size()] == ' ');
    };
    if (matches(label.code) || anyOf(label.aliases, matches)) {
      return &label;
    }
  }
  return nullptr;
}

bool meansNoLabel(std::string_view text) {
  const std::string key = office_sheet::foldKey(text);
  for (std::string_view none : {"", "aucun", "aucune", "neant", "sans", "non", "none", "na"}) {
    if (key == none) {
      return true;
    }
  }
  return false;
}

std::string labelList() {
  std::string out;
  for (const auto& label : kLabels) {
    out += (out.empty() ? "" : ", ") + std::string(firstAlias(label.aliases));
  }
  return out;
}

}  // namespace exportsync::cooperatives
