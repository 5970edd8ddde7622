#include "products.hpp"

#include <string>

#include "office_sheet.hpp"

namespace exportsync::cooperatives {

const Product* findProduct(std::string_view text) {
  return office_sheet::findNamed(kProducts, text);
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

std::string productList() { return office_sheet::firstAliases(kProducts); }

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
    if (matches(label.code) || office_sheet::anyOf(label.aliases, matches)) {
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

std::string labelList() { return office_sheet::firstAliases(kLabels); }

}  // namespace exportsync::cooperatives
