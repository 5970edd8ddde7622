// The craft categories of the artisanat plugin and the HS codes they map to (documented in
// plugins/artisanat/README.md, "Craft categories"). A shipment line whose file gives an HS code
// keeps it; otherwise its category's default code is used.
//
// THREAD: constant tables and pure functions. OWNERSHIP: pointers point into the static table.
#pragma once

#include <array>
#include <string>
#include <string_view>

#include "exportsync/core_datasets.hpp"

namespace exportsync::artisanat {

/// One craft category.
struct Craft {
  std::string_view code;        ///< stored in craft_flows.craft and artisans.crafts
  std::string_view label_fr;    ///< for messages and the README
  std::string_view aliases;     ///< names an office writes, '|'-separated (matched folded)
  std::string_view default_hs;  ///< HS code used when the file gives none; "" for none
  std::string_view headings;    ///< HS headings that identify the craft, '|'-separated
  core::QuantityUnit unit;      ///< unit of a quantity given without one
};

inline constexpr std::array<Craft, 16> kCrafts = {{
    {"carpets", "Tapis noués",
     "tapis|tapis noue|tapis noues|tapis berbere|tapis berberes|tapis de rabat|zarbia|zerbia|"
     "beni ouarain|carpet|carpets|rug|rugs|زربية|زرابي",
     "570110", "5701", core::QuantityUnit::Unit},
    {"kilims", "Tapis tissés (kilims, hanbels)",
     "kilim|kilims|hanbel|hanbels|tapis tisse|tapis tisses|tapis ras|boucherouite|"
     "flat woven rug|flat woven rugs|حنبل",
     "570210", "5702|5705", core::QuantityUnit::Unit},
    {"pottery", "Poterie et céramique",
     "poterie|poteries|ceramique|ceramiques|faience|faiences|tajine|tajines|terre cuite|"
     "pottery|ceramics|فخار|خزف",
     "691200", "6912|6913|6914", core::QuantityUnit::Unit},
    {"zellige", "Zellige", "zellige|zelliges|zellij|mosaique|mosaiques|زليج", "690730", "6907",
     core::QuantityUnit::SquareMetre},
    {"leather", "Maroquinerie et cuir",
     "maroquinerie|cuir|cuirs|articles en cuir|sacs en cuir|poufs en cuir|leather|"
     "leather goods|جلد|الجلد",
     "420221", "4202|4203|4205", core::QuantityUnit::Unit},
    {"babouches", "Babouches et chaussures traditionnelles",
     "babouches|babouche|belgha|balgha|chaussures traditionnelles|slippers|بلغة", "640359",
     "6403|6404|6405", core::QuantityUnit::Pair},
    {"wood", "Bois (marqueterie, thuya, cèdre)",
     "bois|boiserie|marqueterie|thuya|bois de thuya|cedre|bois sculpte|wood|woodwork|خشب", "442090",
     "4414|4419|4420|4421", core::QuantityUnit::Unit},
    {"furniture", "Meubles", "meubles|meuble|mobilier|furniture|أثاث", "940360", "9401|9403",
     core::QuantityUnit::Unit},
    {"brass", "Dinanderie (cuivre, laiton)",
     "dinanderie|cuivre|laiton|cuivre et laiton|brass|copper|نحاس", "741810", "7418|7419|8306",
     core::QuantityUnit::Unit},
    {"lighting", "Luminaires et lanternes",
     "luminaires|luminaire|lanterne|lanternes|lampe|lampes|fanous|lanterns|فانوس", "940550", "9405",
     core::QuantityUnit::Unit},
    {"ironwork", "Ferronnerie", "ferronnerie|fer forge|wrought iron", "732690", "7326",
     core::QuantityUnit::Unit},
    {"textiles", "Textiles et broderie",
     "textiles|textile|tissage|broderie|linge de maison|couverture|couvertures|plaid|plaids|"
     "textiles de maison|embroidery|نسيج|طرز",
     "630492", "5805|5810|6301|6302|6304", core::QuantityUnit::Unit},
    {"jewellery", "Bijouterie et argenterie",
     "bijouterie|bijoux|argenterie|bijoux en argent|bijoux berberes|orfevrerie|jewellery|"
     "jewelry|حلي|فضة",
     "711311", "7113|7114|7117", core::QuantityUnit::Unit},
    {"basketry", "Vannerie", "vannerie|osier|doum|alfa|rotin|basketry|wickerwork", "460219", "4602",
     core::QuantityUnit::Unit},
    {"stone", "Pierre et marbre", "pierre|pierre taillee|marbre|onyx|fossiles|stone|marble|حجر",
     "680291", "6802", core::QuantityUnit::Kilogram},
    {"other", "Autre (code SH obligatoire)", "autre|autres|divers|other", "", "",
     core::QuantityUnit::Unit},
}};

/// The category an office names: its code, its French label or an alias, ignoring case,
/// accents and punctuation ("Poteries", "CÉRAMIQUE", "tapis noués"); nullptr when unknown.
const Craft* findCraft(std::string_view text);

/// The category whose headings hold `hs_code` (normalised), or the `other` category.
const Craft& craftForHs(std::string_view hs_code);

/// The first alias of every category, "tapis, kilim, poterie, …", for messages.
std::string craftList();

}  // namespace exportsync::artisanat
