// The cooperatives plugin through the agent runtime (loadPluginFile, collectPlugin) against a
// temporary store and inbox: the office samples of config/samples/cooperatives/ (a UTF-8 CSV
// with BOM and Arabic names, a Windows-1252 register with a UTF-8 exports file, an XLSX workbook
// with a notes sheet and title rows) and purpose-made files, with the exact rows stored, the
// exact rejections in rejected/*.errors.csv, files moved to done/ or refused whole, and second
// runs that take nothing again. See plugins/cooperatives/README.md.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "files_test_util.hpp"
#include "plugin_test_support.hpp"

namespace exportsync::testing::plugins {
namespace {

const std::string kMa09 = "cooperatives-souss-massa-2024.csv";
const std::string kMa07Exports = "exportations-cooperatives-T1-2024.csv";
const std::string kMa07Register = "registre-cooperatives-marrakech-safi.csv";
const std::string kMa03 = "cooperatives-fes-meknes-T1-2024.xlsx";

const std::string kExportersSql = exportersSql("cooperatives");
const std::string kFlowsSql = exportFlowsSql("cooperatives");
const std::string kCooperativesSql =
    "SELECT exporter_id, registration_number, ice, creation_date, members, women_members, "
    "products, labels FROM cooperatives__cooperatives ORDER BY exporter_id";
const std::string kProductFlowsSql =
    "SELECT exporter_id, product, hs_code, destination, period, value_mad, quantity, "
    "quantity_unit, shipments, hs_from_product FROM cooperatives__product_flows "
    "ORDER BY exporter_id, product, hs_code, destination, period";

TEST(Cooperatives, DescribesCoreAndOwnDatasets) {
  PluginRig rig("cooperatives", "MA-09");
  auto d = rig.describe();
  ASSERT_TRUE(d.isOk()) << d.status().message();
  EXPECT_EQ(d->name, "cooperatives");
  std::vector<std::string> names;
  for (const auto& ds : d->datasets) {
    names.push_back(ds.name + "/" + std::to_string(ds.columns.size()));
  }
  EXPECT_EQ(names, (std::vector<std::string>{"exporters/11", "export_flows/7", "cooperatives/8",
                                             "product_flows/10"}));
}

// MA-09: "CSV UTF-8" from Excel (with a byte-order mark), Arabic names, the cooperative's
// columns repeated on every shipment line, and a cooperative without shipments.
TEST(Cooperatives, SoussMassaUtf8CsvStoresExactRowsAndRejectsTheBadLines) {
  PluginRig rig("cooperatives", "MA-09");
  rig.useSamples("MA-09");
  const auto stats = rig.runOk();
  // 17 lines × (exporters + cooperatives) + 14 monthly flows + 14 product flows.
  EXPECT_EQ(stats.upserted, 17 * 2 + 14 + 14);
  EXPECT_EQ(stats.rejected, 7);

  // The ICE when there is one (Souktana), else cooperative:<ODCo number>; employees are the
  // members; the sector follows the first product (argan oil: cosmetics).
  EXPECT_EQ(
      rig.query(kExportersSql),
      (Rows{{"001632587000054", "ice", "Coopérative Souktana du Safran", "تعاونية سوكتانة للزعفران",
             "cooperative", "MA-09", "Taliouine", "agrifood", "NULL", "35", "NULL"},
            {"cooperative:2004/112", "cooperative", "Coopérative Tighanimine", "تعاونية تيغانيمين",
             "cooperative", "MA-09", "Agadir", "cosmetics", "NULL", "60", "NULL"},
            {"cooperative:2009/310", "cooperative", "Coopérative Taitmatine", "تعاونية تايتماتين",
             "cooperative", "MA-09", "Tiout", "cosmetics", "NULL", "72", "NULL"},
            {"cooperative:2011/045", "cooperative", "Coopérative Argan Tiznit",
             "تعاونية أركان تيزنيت", "cooperative", "MA-09", "Tiznit", "cosmetics", "NULL", "48",
             "NULL"},
            {"cooperative:2015/077", "cooperative", "Coopérative apicole Imouzzer",
             "تعاونية إيموزار لتربية النحل", "cooperative", "MA-09", "Imouzzer Ida Outanane",
             "agrifood", "NULL", "25", "NULL"},
            {"cooperative:2018/154", "cooperative", "Coopérative Aknari Aït Baha",
             "تعاونية أكناري أيت باها", "cooperative", "MA-09", "Aït Baha", "cosmetics", "NULL",
             "30", "NULL"},
            {"cooperative:2020/041", "cooperative", "Coopérative Tamount des femmes",
             "تعاونية تامونت للنساء", "cooperative", "MA-09", "Taroudant", "agrifood", "NULL", "18",
             "NULL"}}));

  // Labels from "IGP Argane", "AOP Safran de Taliouine", "Bio", "Commerce équitable".
  EXPECT_EQ(rig.query(kCooperativesSql),
            (Rows{{"001632587000054", "2007/238", "001632587000054", "2007-03-22", "35", "12",
                   "saffron", "aop,organic"},
                  {"cooperative:2004/112", "2004/112", "NULL", "2004-06-14", "60", "60",
                   "amlou,argan_oil", "igp,organic"},
                  {"cooperative:2009/310", "2009/310", "NULL", "2009-02-17", "72", "72",
                   "amlou,argan_oil,honey", "fair_trade,organic"},
                  {"cooperative:2011/045", "2011/045", "NULL", "2011-10-05", "48", "48",
                   "argan_oil,soap", "igp"},
                  {"cooperative:2015/077", "2015/077", "NULL", "2015-04-09", "25", "6", "honey",
                   "label_agricole"},
                  {"cooperative:2018/154", "2018/154", "NULL", "2018-11-11", "30", "22",
                   "cactus,cactus_seed_oil", "organic"},
                  {"cooperative:2020/041", "2020/041", "NULL", "2020-07-03", "18", "18",
                   "amlou,couscous", "NULL"}}));

  // Lines 2+3 (264 000 + 176 000 of argan oil to FR in January) and 8+24 summed; default HS
  // codes per product (argan 1515.90, amlou 2008.19, saffron 0910.20, soap 3401.20 …).
  EXPECT_EQ(rig.query(kFlowsSql),
            (Rows{{"001632587000054", "091020", "AE", "2024-03", "23200000", "8.0", "kg"},
                  {"001632587000054", "091020", "FR", "2024-01", "33600000", "12.0", "kg"},
                  {"cooperative:2004/112", "151590", "DE", "2024-02", "13800000", "600.0", "l"},
                  {"cooperative:2004/112", "151590", "FR", "2024-01", "44000000", "2000.0", "l"},
                  {"cooperative:2004/112", "200819", "FR", "2024-01", "4250000", "500.0", "kg"},
                  {"cooperative:2009/310", "040900", "FR", "2024-03", "3200000", "200.0", "kg"},
                  {"cooperative:2009/310", "151590", "DE", "2024-01", "34500000", "1500.0", "l"},
                  {"cooperative:2009/310", "200819", "BE", "2024-03", "2760000", "300.0", "kg"},
                  {"cooperative:2011/045", "151590", "US", "2024-02", "31250000", "1250.0", "l"},
                  {"cooperative:2011/045", "340120", "CA", "2024-02", "1800000", "400.0", "kg"},
                  {"cooperative:2015/077", "040900", "AE", "2024-03", "3000000", "100.0", "kg"},
                  {"cooperative:2015/077", "040900", "QA", "2024-02", "4500000", "150.0", "kg"},
                  {"cooperative:2018/154", "081090", "ES", "2024-03", "3750000", "2500.0", "kg"},
                  {"cooperative:2018/154", "151590", "FR", "2024-02", "32000000", "40.0", "l"}}));

  // Argan oil and prickly-pear seed oil share 1515.90: the product detail keeps them apart.
  const auto products = rig.query(kProductFlowsSql);
  ASSERT_EQ(products.size(), 14u);
  EXPECT_EQ(products[4],
            (std::vector<std::string>{"cooperative:2004/112", "argan_oil", "151590", "FR",
                                      "2024-01", "44000000", "2000.0", "l", "2", "1"}));
  EXPECT_EQ(products[13],
            (std::vector<std::string>{"cooperative:2018/154", "cactus_seed_oil", "151590", "FR",
                                      "2024-02", "32000000", "40.0", "l", "1", "1"}));

  EXPECT_EQ(rig.files(), std::vector<std::string>{});
  EXPECT_EQ(rig.files("done"), std::vector<std::string>{kMa09});
  EXPECT_EQ(
      rig.errors(kMa09),
      (std::vector<ErrorLine>{
          {"17", "Dont femmes", "25",
           "women members (25) outnumber members (22); women members are counted among the "
           "members"},
          {"18", "Date de création", "12/09/2031",
           "date '12/09/2031' is in the future (today is " + todayIso() + "); check the year"},
          {"19", "Labels", "Label Rouge",
           "quality label 'Label Rouge' is not one of: igp, aop, bio, label agricole, commerce "
           "équitable (several are separated by commas)"},
          {"20", "Pays de destination", "UK",
           "country 'UK' is not an ISO 3166-1 alpha-2 code: use GB for the United Kingdom"},
          {"21", "Valeur (MAD)", "'-2 300,00",
           "amount '-2 300,00' is negative; an amount of 0 or more is expected"},
          {"22", "Date d'expédition", "29/02/2023",
           "date '29/02/2023' does not exist: 2023 is not a leap year (February has 28 days)"},
          {"23", "ICE", "0017O4562000048",
           "ICE must be 15 digits, got '0017O4562000048' (it contains 'O'; write digits "
           "only)"}}));

  const int64_t changes = rig.changes();
  const auto again = rig.runOk();
  EXPECT_EQ(again.upserted, 0);
  EXPECT_EQ(again.renamed, 0);
  EXPECT_EQ(rig.changes(), changes);
}

// MA-07: a register of cooperatives from Excel in Windows-1252 (no shipment columns) and an
// exports file saved as "CSV UTF-8", whose byte-order mark wins over the encoding setting.
TEST(Cooperatives, MarrakechSafiRegisterAndExportsFileInTwoEncodings) {
  PluginRig rig("cooperatives", "MA-07");
  rig.useSamples("MA-07");
  EXPECT_EQ(rig.settings()["encoding"], "windows-1252");
  const auto stats = rig.runOk();
  EXPECT_EQ(stats.rejected, 11);
  EXPECT_EQ(rig.files("done"), (std::vector<std::string>{kMa07Exports, kMa07Register}));

  // The exports file (read first) knows names only; the register adds city, members, sector
  // ("Cosmétique", "Pêche" decoded from Windows-1252) and keeps the flows' cooperatives whole.
  EXPECT_EQ(
      rig.query("SELECT exporter_id, name, city, sector, employees FROM "
                "cooperatives__exporters ORDER BY exporter_id"),
      (Rows{{"cooperative:1996/021", "Coopérative Amal", "Tamanar", "cosmetics", "55"},
            {"cooperative:2002/187", "Coopérative Marjana", "Essaouira", "cosmetics", "60"},
            {"cooperative:2003/145", "Coopérative Al Wifaq Asni", "Asni", "agrifood", "42"},
            {"cooperative:2005/099", "Coopérative de pêche Souiria Kdima", "Souiria Kdima",
             "fisheries", "60"},
            {"cooperative:2008/256", "Coopérative Tiwizi Essaouira", "Essaouira", "agrifood", "40"},
            {"cooperative:2010/064", "Coopérative Zitoune Loudaya", "Loudaya", "agrifood", "34"},
            {"cooperative:2011/233", "Coopérative Argan Ounagha", "Ounagha", "cosmetics", "38"},
            {"cooperative:2013/112", "Coopérative Nour des plantes aromatiques", "Amizmiz",
             "agrifood", "27"},
            {"cooperative:2014/176", "Coopérative Jnane Chichaoua", "Chichaoua", "agrifood", "25"},
            {"cooperative:2016/301", "Coopérative Al Baraka El Kelaâ", "El Kelaâ des Sraghna",
             "agrifood", "45"},
            {"cooperative:2019/145", "Coopérative Chamaa des femmes de Rehamna", "Ben Guerir",
             "agrifood", "20"},
            {"cooperative:2020/018", "Coopérative Assafi Couscous", "Safi", "agrifood", "15"},
            {"cooperative:2022/054", "Coopérative Tissir des femmes", "Aït Ourir", "agrifood",
             "12"}}));
  EXPECT_EQ(rig.query(kCooperativesSql),
            (Rows{{"cooperative:1996/021", "1996/021", "NULL", "1996-04-12", "55", "55",
                   "amlou,argan_oil", "igp,organic"},
                  {"cooperative:2002/187", "2002/187", "NULL", "2002-10-08", "60", "60",
                   "argan_oil", "igp"},
                  {"cooperative:2003/145", "2003/145", "NULL", "2003-11-17", "42", "30",
                   "almonds,honey", "label_agricole"},
                  {"cooperative:2005/099", "2005/099", "NULL", "2005-06-30", "60", "0", "octopus",
                   "NULL"},
                  {"cooperative:2008/256", "2008/256", "NULL", "2008-03-15", "40", "32",
                   "amlou,honey", "NULL"},
                  {"cooperative:2010/064", "2010/064", "NULL", "2010-06-21", "34", "8",
                   "olive_oil,olives", "label_agricole"},
                  {"cooperative:2011/233", "2011/233", "NULL", "2011-05-24", "38", "38",
                   "argan_oil,soap", "fair_trade,organic"},
                  {"cooperative:2013/112", "2013/112", "NULL", "2013-12-02", "27", "19",
                   "aromatic_plants,honey", "organic"},
                  {"cooperative:2014/176", "2014/176", "NULL", "2014-05-05", "25", "14",
                   "almonds,honey", "NULL"},
                  {"cooperative:2016/301", "2016/301", "NULL", "2016-09-19", "45", "10",
                   "olive_oil", "aop"},
                  {"cooperative:2019/145", "2019/145", "NULL", "2019-01-07", "20", "20",
                   "cactus,couscous", "NULL"},
                  {"cooperative:2020/018", "2020/018", "NULL", "2020-02-11", "15", "15", "couscous",
                   "NULL"},
                  {"cooperative:2022/054", "2022/054", "NULL", "2022-06-16", "12", "12",
                   "aromatic_plants,couscous", "NULL"}}));

  // Months ("01/2024"), "litres", "Romarin" (aromatic plants), "Autre" with its HS code.
  EXPECT_EQ(rig.query(kFlowsSql),
            (Rows{{"cooperative:1996/021", "151590", "DE", "2024-02", "14950000", "650.0", "l"},
                  {"cooperative:1996/021", "151590", "FR", "2024-01", "20700000", "900.0", "l"},
                  {"cooperative:1996/021", "200819", "FR", "2024-02", "2550000", "300.0", "kg"},
                  {"cooperative:2002/187", "151590", "US", "2024-01", "36000000", "1500.0", "l"},
                  {"cooperative:2005/099", "030752", "ES", "2024-01", "28000000", "4000.0", "kg"},
                  {"cooperative:2008/256", "040900", "AE", "2024-03", "6250000", "250.0", "kg"},
                  {"cooperative:2010/064", "150920", "ES", "2024-03", "25000000", "5000.0", "l"},
                  {"cooperative:2010/064", "200570", "FR", "2024-03", "9600000", "8000.0", "kg"},
                  {"cooperative:2011/233", "151590", "JP", "2024-03", "5600000", "200.0", "l"},
                  {"cooperative:2013/112", "121190", "DE", "2024-02", "5400000", "1200.0", "kg"},
                  {"cooperative:2014/176", "080212", "GB", "2024-03", "800000", "100.0", "kg"},
                  {"cooperative:2016/301", "150920", "IT", "2024-02", "9850000", "2000.0", "l"},
                  {"cooperative:2019/145", "081090", "FR", "2024-02", "3600000", "3000.0", "kg"}}));

  EXPECT_EQ(
      rig.errors(kMa07Exports),
      (std::vector<ErrorLine>{
          {"14", "Unité", "kg",
           "unit 'kg' differs from 'l' on line 5 for the same exporter, HS code, destination and "
           "month; a monthly flow has one unit: convert the quantity"},
          {"15", "Montant (DH)", "98 500,005",
           "amount '98 500,005' has 3 decimals; at most 2 are allowed (centimes): round it in the "
           "source"},
          {"16", "Pays", "MA",
           "destination 'MA' is Morocco itself; an export needs a foreign destination country"},
          {"17", "Code SH", "",
           "HS code is empty and product 'Autre' has no default code; give the HS code"},
          {"18", "Mois", "13/2024", "period '13/2024' has month 13, which does not exist"}}));
  EXPECT_EQ(
      rig.errors(kMa07Register),
      (std::vector<ErrorLine>{
          {"13", "Adhérentes", "15",
           "women members (15) outnumber members (12); women members are counted among the "
           "members"},
          {"14", "Date de constitution", "30/02/2015",
           "date '30/02/2015' does not exist: February 2015 has 28 days"},
          {"15", "Produits", "Câpres",
           "product 'Câpres' is unknown; write one of: huile d'argan, amlou, safran, dattes, eau "
           "de rose, miel, couscous, huile d'olive, olives, cactus, huile de pépins de figue de "
           "barbarie, plantes aromatiques, amandes, henné, ghassoul, cosmétiques, savon, lait de "
           "chamelle, poulpe, algues, tissage, autre (autre needs the HS code)"},
          {"16", "Adhérents", "vingt",
           "number 'vingt' is not a number; write digits with an optional decimal mark, e.g. "
           "1234,50 or 1 234,50"},
          {"17", "Signes de qualité", "ISO 9001",
           "quality label 'ISO 9001' is not one of: igp, aop, bio, label agricole, commerce "
           "équitable (several are separated by commas)"},
          {"18", "Numéro d'enregistrement", "",
           "no identifier: give the cooperative's registration number (ODCo) or its ICE"}}));
}

// MA-03: an XLSX workbook whose first sheet is notes (setting `sheet`) and whose header sits
// below two title rows (setting `header_line`); creation and shipment dates are date cells.
TEST(Cooperatives, FesMeknesXlsxOnANamedSheetBelowTitleRows) {
  PluginRig rig("cooperatives", "MA-03");
  rig.useSamples("MA-03");
  EXPECT_EQ(rig.settings()["sheet"], "Exportations");
  EXPECT_EQ(rig.settings()["header_line"], "3");
  const auto stats = rig.runOk();
  EXPECT_EQ(stats.rejected, 6);

  EXPECT_EQ(rig.query(kCooperativesSql),
            (Rows{{"002233445000061", "2012/058", "002233445000061", "2012-09-03", "30", "21",
                   "aromatic_plants", "organic"},
                  {"cooperative:2006/142", "2006/142", "NULL", "2006-05-18", "80", "15",
                   "olive_oil,olives", "igp"},
                  {"cooperative:2010/231", "2010/231", "NULL", "2010-03-25", "22", "9", "honey",
                   "label_agricole"},
                  {"cooperative:2014/119", "2014/119", "NULL", "2014-06-30", "40", "12",
                   "olive_oil", "aop"},
                  {"cooperative:2017/064", "2017/064", "NULL", "2017-11-14", "25", "25", "couscous",
                   "NULL"},
                  {"cooperative:2019/201", "2019/201", "NULL", "2019-04-02", "18", "18",
                   "almonds,honey", "NULL"}}));
  // Rows 4+5 (2024-01-15 and 2024-01-29; the HS code 150920 typed as a number on one of them)
  // summed; 22500.5 read with its decimal point.
  EXPECT_EQ(rig.query(kFlowsSql),
            (Rows{{"002233445000061", "121190", "DE", "2024-02", "3600000", "800.0", "kg"},
                  {"002233445000061", "121190", "FR", "2024-03", "2250050", "500.0", "kg"},
                  {"cooperative:2006/142", "150920", "FR", "2024-01", "27500000", "5000.0", "l"},
                  {"cooperative:2006/142", "200570", "ES", "2024-02", "12000000", "10000.0", "kg"},
                  {"cooperative:2010/231", "040900", "AE", "2024-03", "3000000", "120.0", "kg"},
                  {"cooperative:2010/231", "040900", "FR", "2024-02", "1920000", "80.0", "kg"},
                  {"cooperative:2014/119", "150920", "CA", "2024-02", "5400000", "1000.0", "l"},
                  {"cooperative:2014/119", "150920", "IT", "2024-03", "21000000", "4000.0", "l"},
                  {"cooperative:2017/064", "190240", "BE", "2024-03", "1800000", "1500.0", "kg"},
                  {"cooperative:2017/064", "190240", "FR", "2024-01", "2400000", "2000.0", "kg"}}));
  EXPECT_EQ(
      rig.errors(kMa03),
      (std::vector<ErrorLine>{
          {"14", "Date de création", "2032-01-10",
           "date '2032-01-10' is in the future (today is " + todayIso() + "); check the year"},
          {"15", "Date d'expédition", "2023-02-29",
           "date '2023-02-29' does not exist: 2023 is not a leap year (February has 28 days)"},
          {"16", "Nombre de femmes", "26",
           "women members (26) outnumber members (20); women members are counted among the "
           "members"},
          {"17", "Code SH", "9999.00",
           "HS code '9999.00' has chapter 99, which is reserved for national use; give the goods' "
           "HS code (chapters 01 to 97)"},
          {"18", "Labels", "ISO 22000",
           "quality label 'ISO 22000' is not one of: igp, aop, bio, label agricole, commerce "
           "équitable (several are separated by commas)"},
          {"19", "Valeur (MAD)", "abc",
           "amount 'abc' is not a number; write digits with an optional decimal mark, e.g. "
           "1234,50 or 1 234,50"}}));
  EXPECT_EQ(rig.files("done"), std::vector<std::string>{kMa03});
}

// Members and women members given on different lines of one cooperative are checked together,
// and a line that contradicts an earlier one is refused.
TEST(Cooperatives, MembersAreCheckedAcrossTheLinesOfACooperative) {
  PluginRig rig("cooperatives", "MA-08");
  rig.dropFile("rosiers.csv",
               csv({"N° ODCo;Coopérative;Adhérents;Adhérentes;Produit;Pays;Date;Valeur",
                    "2014/330;Coopérative Rosa Damascena;10;;Eau de rose;FR;05/05/2024;9 000",
                    "2014/330;Coopérative Rosa Damascena;;12;Eau de rose;FR;12/05/2024;4 000",
                    "2014/330;Coopérative Rosa Damascena;8;;Eau de rose;DE;20/05/2024;3 000",
                    "2014/330;Coopérative Rosa Damascena;;7;Eau de rose;DE;21/05/2024;2 000"}));
  rig.runOk();
  EXPECT_EQ(rig.query("SELECT members, women_members FROM cooperatives__cooperatives"),
            (Rows{{"10", "7"}}));
  EXPECT_EQ(
      rig.errors("rosiers.csv"),
      (std::vector<ErrorLine>{
          {"3", "Adhérentes", "12",
           "women members (12) outnumber members (10, line 2); women members are counted among "
           "the members"},
          {"4", "Adhérents", "8",
           "'8' differs from '10' given on line 2 for the same cooperative "
           "(cooperative:2014/330); correct one of them"}}));
  EXPECT_EQ(rig.query("SELECT destination, value_mad FROM cooperatives__export_flows "
                      "ORDER BY destination"),
            (Rows{{"DE", "200000"}, {"FR", "900000"}}));
}

// A monthly shipments file without the register's columns keeps what the register said; a
// later file with a labels column replaces the labels ("aucun": none).
TEST(Cooperatives, LaterFilesKeepWhatIsKnownAndListsFollowTheirColumn) {
  PluginRig rig("cooperatives", "MA-08");
  rig.dropFile("1-registre.csv",
               csv({"N° ODCo;Coopérative;Ville;Date de création;Adhérents;Dont femmes;Produits;"
                    "Labels",
                    "2008/415;Coopérative Nakhil Zagora;Zagora;03/03/2008;45;30;Dattes;IGP"}));
  rig.runOk();
  rig.dropFile("2-exports.csv", csv({"N° ODCo;Coopérative;Produit;Pays;Mois;Valeur",
                                     "2008/415;Coopérative Nakhil Zagora;Henné;FR;04/2024;5 000"}));
  rig.runOk();
  EXPECT_EQ(rig.query(kCooperativesSql), (Rows{{"cooperative:2008/415", "2008/415", "NULL",
                                                "2008-03-03", "45", "30", "dates,henna", "igp"}}));
  EXPECT_EQ(rig.query("SELECT city, sector, employees FROM cooperatives__exporters"),
            (Rows{{"Zagora", "agrifood", "45"}}));

  rig.dropFile("3-labels.csv", csv({"N° ODCo;Coopérative;Labels", "2008/415;Nakhil Zagora;Aucun"}));
  rig.runOk();
  // "Nakhil Zagora" differs from the name known, and a newer file corrects an older one.
  EXPECT_EQ(rig.query("SELECT products, labels FROM cooperatives__cooperatives"),
            (Rows{{"dates,henna", "NULL"}}));
  EXPECT_EQ(rig.query("SELECT name FROM cooperatives__exporters"), (Rows{{"Nakhil Zagora"}}));
}

// A purpose-made workbook: an HS code and an ICE typed as numbers get their leading zeros
// back; a date cell gives the month.
TEST(Cooperatives, XlsxCodesTypedAsNumbersGetTheirZerosBack) {
  PluginRig rig("cooperatives", "MA-09");
  const std::string sheet =
      "<row r=\"1\"><c r=\"A1\" t=\"s\"><v>0</v></c><c r=\"B1\" t=\"s\"><v>1</v></c>"
      "<c r=\"C1\" t=\"s\"><v>2</v></c><c r=\"D1\" t=\"s\"><v>3</v></c>"
      "<c r=\"E1\" t=\"s\"><v>4</v></c><c r=\"F1\" t=\"s\"><v>5</v></c></row>"
      "<row r=\"2\"><c r=\"A2\"><v>1632587000054</v></c><c r=\"B2\" t=\"s\"><v>6</v></c>"
      "<c r=\"C2\"><v>91020</v></c><c r=\"D2\" t=\"s\"><v>7</v></c>"
      "<c r=\"E2\" s=\"1\"><v>45366</v></c><c r=\"F2\"><v>87000</v></c></row>";
  rig.dropFile("safran.xlsx",
               files::testing::XlsxBuilder()
                   .sheet("Feuil1", sheet)
                   .sharedStrings({"<t>ICE</t>", "<t>Coopérative</t>", "<t>Code SH</t>",
                                   "<t>Pays</t>", "<t>Date d'expédition</t>", "<t>Valeur</t>",
                                   "<t>Coopérative Souktana du Safran</t>", "<t>NL</t>"})
                   .cellFormats({0, 14})
                   .build());
  rig.runOk();
  EXPECT_EQ(rig.query("SELECT exporter_id, hs_code, destination, period, value_mad FROM "
                      "cooperatives__export_flows"),
            (Rows{{"001632587000054", "091020", "NL", "2024-03", "8700000"}}));
  // The product is inferred from its HS code when the file names none.
  EXPECT_EQ(rig.query("SELECT product, hs_from_product FROM cooperatives__product_flows"),
            (Rows{{"saffron", "0"}}));
}

TEST(Cooperatives, FileWithoutANameColumnIsRejectedWhole) {
  PluginRig rig("cooperatives", "MA-09");
  rig.dropFile("liste.csv", csv({"N° ODCo;Ville", "2004/112;Agadir"}));
  rig.runOk();
  EXPECT_EQ(rig.files("rejected"), (std::vector<std::string>{"liste.csv", "liste.csv.reason.txt"}));
  EXPECT_EQ(rig.reason("liste.csv"),
            "file 'liste.csv' has no column for the cooperative's name (a column headed 'Nom de la "
            "coopérative', 'Coopérative', 'Raison sociale', 'Dénomination', 'Nom', 'Nom / Raison "
            "sociale' …); add it to the header (line 1, columns found: 'N° ODCo', 'Ville')");
}

TEST(Cooperatives, ShipmentColumnsWithoutAValueColumnRejectTheFile) {
  PluginRig rig("cooperatives", "MA-09");
  rig.dropFile("envois.csv", csv({"N° ODCo;Coopérative;Produit;Pays;Date",
                                  "2004/112;Coopérative Tighanimine;Argan;FR;05/01/2024"}));
  rig.runOk();
  EXPECT_EQ(rig.reason("envois.csv").substr(0, 72),
            "file 'envois.csv' has no column for the value in dirhams (a column heade");
}

}  // namespace
}  // namespace exportsync::testing::plugins
