#include "crafts.hpp"

#include <string>

#include "office_sheet.hpp"

namespace exportsync::artisanat {

const Craft* findCraft(std::string_view text) { return office_sheet::findNamed(kCrafts, text); }

const Craft& craftForHs(std::string_view hs_code) {
  const std::string_view heading = hs_code.substr(0, 4);
  for (const auto& craft : kCrafts) {
    if (office_sheet::anyOf(craft.headings,
                            [heading](std::string_view h) { return h == heading; })) {
      return craft;
    }
  }
  return kCrafts.back();
}

std::string craftList() { return office_sheet::firstAliases(kCrafts); }

}  // namespace exportsync::artisanat
