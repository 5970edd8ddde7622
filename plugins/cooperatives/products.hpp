// The products and quality labels of the cooperatives plugin (documented in
// plugins/cooperatives/README.md, "Products" and "Quality labels"). A shipment line whose file
// gives an HS code keeps it; otherwise its product's default code is used.
//
// THREAD: constant tables and pure functions. OWNERSHIP: pointers point into the static tables.
#pragma once

#include <array>
#include <string>
#include <string_view>

#include "exportsync/core_datasets.hpp"

namespace exportsync::cooperatives {

/// One product of the social and solidarity economy.
struct Product {
  std::string_view code;        ///< stored in product_flows.product and cooperatives.products
  std::string_view label_fr;    ///< for the README
  std::string_view aliases;     ///< names an office writes, '|'-separated (matched folded)
  std::string_view default_hs;  ///< HS code used when the file gives none; "" for none
  core::Sector sector;          ///< the cooperative's sector when this is its first product
  core::QuantityUnit unit;      ///< unit of a quantity given without one
};

inline constexpr std::array<Product, 22> kProducts = {{
    {"argan_oil", "Huile d'argan",
     "huile d'argan|huile d'argane|argan|argane|huile argan|huile d'argan alimentaire|"
     "huile d'argan cosmétique|argan oil|زيت أركان|زيت الأركان|أركان",
     "151590", core::Sector::Cosmetics, core::QuantityUnit::Litre},
    {"amlou", "Amlou", "amlou|amalou|amlou aux amandes|أملو", "200819", core::Sector::Agrifood,
     core::QuantityUnit::Kilogram},
    {"saffron", "Safran", "safran|safran de taliouine|saffron|زعفران|الزعفران", "091020",
     core::Sector::Agrifood, core::QuantityUnit::Kilogram},
    {"dates", "Dattes", "dattes|datte|dattes medjool|majhoul|mejhoul|dates|تمر|تمور|التمور",
     "080410", core::Sector::Agrifood, core::QuantityUnit::Kilogram},
    {"rose_water", "Eau de rose", "eau de rose|eau de roses|rose water|ماء الورد", "330190",
     core::Sector::Cosmetics, core::QuantityUnit::Litre},
    {"honey", "Miel", "miel|miel d'euphorbe|miel de thym|honey|عسل|العسل", "040900",
     core::Sector::Agrifood, core::QuantityUnit::Kilogram},
    {"couscous", "Couscous", "couscous|couscous d'orge|berkoukes|كسكس|الكسكس", "190240",
     core::Sector::Agrifood, core::QuantityUnit::Kilogram},
    {"olive_oil", "Huile d'olive",
     "huile d'olive|huile d'olive vierge extra|huile olive|olive oil|زيت الزيتون", "150920",
     core::Sector::Agrifood, core::QuantityUnit::Litre},
    {"olives", "Olives de table", "olives|olives de table|olives confites|زيتون|الزيتون", "200570",
     core::Sector::Agrifood, core::QuantityUnit::Kilogram},
    {"cactus", "Figues de barbarie (cactus)",
     "cactus|figue de barbarie|figues de barbarie|hendia|prickly pear|الصبار|هندية|الهندية",
     "081090", core::Sector::Agrifood, core::QuantityUnit::Kilogram},
    {"cactus_seed_oil", "Huile de pépins de figue de barbarie",
     "huile de pépins de figue de barbarie|huile de figue de barbarie|huile de cactus|"
     "prickly pear seed oil|زيت الصبار|زيت بذور الصبار",
     "151590", core::Sector::Cosmetics, core::QuantityUnit::Litre},
    {"aromatic_plants", "Plantes aromatiques et médicinales",
     "plantes aromatiques|plantes aromatiques et médicinales|pam|thym|romarin|origan|verveine|"
     "herbes aromatiques|النباتات العطرية|الأعشاب",
     "121190", core::Sector::Agrifood, core::QuantityUnit::Kilogram},
    {"almonds", "Amandes", "amandes|amande|almonds|لوز|اللوز", "080212", core::Sector::Agrifood,
     core::QuantityUnit::Kilogram},
    {"henna", "Henné", "henné|henna|حناء|الحناء", "140490", core::Sector::Cosmetics,
     core::QuantityUnit::Kilogram},
    {"ghassoul", "Ghassoul", "ghassoul|rhassoul|ghasoul|غاسول|الغاسول", "250840",
     core::Sector::Cosmetics, core::QuantityUnit::Kilogram},
    {"cosmetics", "Cosmétiques naturels (crèmes, baumes)",
     "cosmétiques|produits cosmétiques|cosmétiques naturels|crème|crèmes|baume|cosmetics|"
     "مستحضرات التجميل",
     "330499", core::Sector::Cosmetics, core::QuantityUnit::Kilogram},
    {"soap", "Savon (savon noir, savon beldi)",
     "savon|savon noir|savon beldi|soap|الصابون البلدي|صابون", "340120", core::Sector::Cosmetics,
     core::QuantityUnit::Kilogram},
    {"camel_milk", "Lait de chamelle", "lait de chamelle|camel milk|حليب النوق|حليب الإبل",
     "040120", core::Sector::Agrifood, core::QuantityUnit::Litre},
    {"octopus", "Poulpe", "poulpe|poulpes|octopus|أخطبوط", "030752", core::Sector::Fisheries,
     core::QuantityUnit::Kilogram},
    {"seaweed", "Algues marines", "algues|algues marines|seaweed|طحالب", "121229",
     core::Sector::Fisheries, core::QuantityUnit::Kilogram},
    {"textiles", "Tissage et couture", "tissage|couture|broderie|textiles", "630492",
     core::Sector::TextileLeather, core::QuantityUnit::Unit},
    {"other", "Autre (code SH obligatoire)", "autre|autres|divers|other", "", core::Sector::Other,
     core::QuantityUnit::Kilogram},
}};

/// A quality label (signe distinctif d'origine et de qualité, loi 25-06, or a private label).
struct Label {
  std::string_view code;      ///< stored in cooperatives.labels
  std::string_view label_fr;  ///< for the README
  std::string_view aliases;   ///< '|'-separated; also matched as the first words of a value
};

inline constexpr std::array<Label, 5> kLabels = {{
    {"igp", "Indication géographique protégée",
     "igp|indication géographique protégée|indication géographique|pgi|"
     "البيان الجغرافي المحمي|بيان جغرافي"},
    {"aop", "Appellation d'origine protégée",
     "aop|aoc|appellation d'origine protégée|appellation d'origine|pdo|تسمية المنشأ المحمية"},
    {"organic", "Agriculture biologique",
     "bio|biologique|agriculture biologique|ab|organic|ecocert|eu organic|usda organic|عضوي|"
     "بيولوجي"},
    {"label_agricole", "Label agricole",
     "label agricole|label agricole maroc|العلامة الفلاحية|الشارة الفلاحية"},
    {"fair_trade", "Commerce équitable",
     "commerce équitable|équitable|fair trade|fairtrade|max havelaar|التجارة العادلة"},
}};

/// The product an office names (code, French label or alias, ignoring case, accents and
/// punctuation); nullptr when unknown.
const Product* findProduct(std::string_view text);
/// The product whose default HS code is `hs_code` (normalised) when exactly one has it, else the
/// `other` product.
const Product& productForHs(std::string_view hs_code);
/// The first alias of every product, "huile d'argan, amlou, safran, …", for messages.
std::string productList();

/// The label a value names: an alias, or an alias followed by more words ("IGP Argane",
/// "Bio (Ecocert)"); nullptr when unknown.
const Label* findLabel(std::string_view text);
/// True for the words that mean "no label": aucun, néant, sans, non, none, -.
bool meansNoLabel(std::string_view text);
/// "IGP, AOP, bio, label agricole, commerce équitable", for messages.
std::string labelList();

}  // namespace exportsync::cooperatives
