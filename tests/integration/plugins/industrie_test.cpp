// The industrie plugin through the agent runtime (loadPluginFile, collectPlugin) against a
// temporary store and inbox: the office samples of config/samples/industrie/ and purpose-made
// files, with the exact rows stored, the exact rejections in rejected/*.errors.csv, files moved
// to done/ or refused whole, and second runs that change nothing. Also the parsing library's
// tables (plugins/industrie/industrie_table.hpp) on their own.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "industrie_table.hpp"
#include "plugin_test_support.hpp"

namespace exportsync::testing::plugins {
namespace {

namespace industrie = exportsync::industrie;

const std::string kMa06 = "industrie-casablanca-settat-2024-T1.csv";
const std::string kMa07 = "industrie-marrakech-safi-2024.csv";
const std::string kMa09 = "souss-massa-exportations-2024.csv";

const std::string kFlowsSql = exportFlowsSql("industrie");
const std::string kExportersSql = exportersSql("industrie");

TEST(Industrie, CasablancaSampleStoresExactRowsAndRejectsTheBadLines) {
  PluginRig rig("industrie", "MA-06");
  rig.useSamples("MA-06");
  const auto stats = rig.runOk();
  EXPECT_EQ(stats.upserted, 7 + 12);
  EXPECT_EQ(stats.rejected, 5);

  EXPECT_EQ(rig.query(kExportersSql),
            (Rows{{"000874512000063", "ice", "Settat Automotive Parts SA", "NULL", "sa", "MA-06",
                   "Settat", "automotive", "large", "950", "NULL"},
                  {"001249876000032", "ice", "Laboratoires Pharma Anfa", "مختبرات فارما أنفا", "sa",
                   "MA-06", "Casablanca", "pharmaceuticals", "large", "420", "NULL"},
                  {"001758293000041", "ice", "Atlas Câblage Automobile",
                   "أطلس للأسلاك الكهربائية للسيارات", "sarl", "MA-06", "Casablanca", "automotive",
                   "large", "1850", "NULL"},
                  {"001983245000019", "ice", "Électro Composants Mohammedia", "NULL", "sarl",
                   "MA-06", "Mohammedia", "electrical_electronics", "medium", "145", "NULL"},
                  {"002036541000058", "ice", "Casa Aéro Précision SA", "NULL", "sa", "MA-06",
                   "Nouaceur", "aeronautics", "large", "640", "NULL"},
                  {"002411987000027", "ice", "Textiles de Berrechid SARL AU", "نسيج برشيد",
                   "sarl_au", "MA-06", "Berrechid", "textile_leather", "large", "380", "NULL"},
                  {"002598341000074", "ice", "Société Casablancaise d'Assemblage Automobile",
                   "NULL", "sa", "MA-06", "Casablanca", "automotive", "large", "2300", "NULL"}}));

  // Lines 2 and 4 share a key (two declarations): summed, weights too.
  EXPECT_EQ(
      rig.query(kFlowsSql),
      (Rows{{"000874512000063", "8708299000", "IT", "2024-03", "893000000", "152000.0", "kg"},
            {"001249876000032", "3004900000", "CI", "2024-03", "412580000", "24950.0", "kg"},
            {"001249876000032", "3004900000", "SN", "2024-01", "356000000", "21400.0", "kg"},
            {"001758293000041", "8544300000", "ES", "2024-01", "956340050", "210300.0", "kg"},
            {"001758293000041", "8544300000", "FR", "2024-01", "2060230000", "460700.0", "kg"},
            {"001758293000041", "8544300000", "FR", "2024-02", "1798045025", "401800.0", "kg"},
            {"001983245000019", "8536690000", "DE", "2024-03", "642000000", "35600.0", "kg"},
            {"002036541000058", "8803300000", "FR", "2024-01", "2587000000", "18250.5", "kg"},
            {"002036541000058", "8803300000", "US", "2024-02", "1124000000", "7120.0", "kg"},
            {"002411987000027", "6109100000", "FR", "2024-02", "197530000", "12400.0", "kg"},
            {"002411987000027", "6204620000", "ES", "2024-01", "284560000", "18900.0", "kg"},
            {"002598341000074", "8703221000", "EG", "2024-03", "4150000000", "NULL", "NULL"}}));

  EXPECT_EQ(rig.files(), std::vector<std::string>{});
  EXPECT_EQ(rig.files("done"), std::vector<std::string>{kMa06});
  EXPECT_EQ(rig.files("rejected"), std::vector<std::string>{kMa06 + ".errors.csv"});
  EXPECT_EQ(
      rig.errors(kMa06),
      (std::vector<ErrorLine>{
          {"15", "ICE", "01758293000041",
           "ICE must be 15 digits, got '01758293000041' (14 digits); if a spreadsheet dropped "
           "its leading zeros, format the column as text and type the ICE again"},
          {"16", "Code SH", "7708990000",
           "HS code '7708990000' has chapter 77, which the Harmonized System reserves and which "
           "holds no goods; check the code (chapters run from 01 to 97)"},
          {"17", "Pays de destination", "UK",
           "country 'UK' is not an ISO 3166-1 alpha-2 code: use GB for the United Kingdom"},
          {"18", "Valeur FOB (MAD)", "12,5,0",
           "amount '12,5,0' has a misplaced thousands separator; thousands are grouped by 3 "
           "digits, e.g. 1 234 567,50"},
          {"19", "Mois", "13/2024", "period '13/2024' has month 13, which does not exist"}}));
  ASSERT_EQ(stats.first_rejections.size(), 5u);
  EXPECT_EQ(stats.first_rejections[2],
            kMa06 +
                ":17 column 'Pays de destination': country 'UK' is not an ISO 3166-1 alpha-2 "
                "code: use GB for the United Kingdom");

  // The same content dropped again is not imported again: no change, moved to done/.
  const int64_t changes = rig.changes();
  EXPECT_EQ(changes, 19);
  rig.copySample("config/samples/industrie/MA-06/" + kMa06);
  const auto again = rig.runOk();
  EXPECT_EQ(again.upserted, 0);
  EXPECT_EQ(again.rejected, 0);
  EXPECT_EQ(rig.changes(), changes);
  EXPECT_EQ(rig.files("done"),
            (std::vector<std::string>{"industrie-casablanca-settat-2024-T1 (2).csv", kMa06}));
  // And an empty inbox changes nothing either.
  const auto idle = rig.runOk();
  EXPECT_EQ(idle.upserted, 0);
  EXPECT_EQ(rig.changes(), changes);
}

TEST(Industrie, MarrakechSafiSampleInWindows1252WithHeadersWithoutAccents) {
  PluginRig rig("industrie", "MA-07");
  // The office's file, and its settings as installer/demo.sh appends them.
  rig.useSamples("MA-07");
  ASSERT_EQ(rig.settings().at("encoding"), "windows-1252");
  const auto stats = rig.runOk();
  EXPECT_EQ(stats.upserted, 5 + 11);
  EXPECT_EQ(
      rig.query("SELECT exporter_id, name, legal_form, city, sector, size_class FROM "
                "industrie__exporters ORDER BY exporter_id"),
      (Rows{{"001534908000047", "Textile Ménara SARL AU", "sarl_au", "Marrakech", "textile_leather",
             "large"},
            {"001672459000085", "Chimie Atlantique Safi SA", "sa", "Safi", "phosphates", "large"},
            {"002145873000036", "Sardinerie de Safi SA", "sa", "Safi", "fisheries", "large"},
            {"002287614000012", "Marrakech Agro Export SARL", "sarl", "Marrakech", "agrifood",
             "medium"},
            {"002398125000091", "Pêcheries d'Essaouira SARL", "sarl", "Essaouira", "fisheries",
             "medium"}}));
  // Periods written as dates (01/02/2024), amounts with spaces between thousands.
  EXPECT_EQ(rig.query("SELECT hs_code, destination, period, value_mad, quantity FROM "
                      "industrie__export_flows WHERE exporter_id = '002145873000036' ORDER BY "
                      "period, destination"),
            (Rows{{"1604131000", "BR", "2024-01", "231000000", "598000.0"},
                  {"1604131000", "FR", "2024-01", "485230000", "1215400.0"},
                  {"1604131000", "FR", "2024-02", "510475050", "1260100.0"}}));
  EXPECT_EQ(
      rig.errors(kMa07),
      (std::vector<ErrorLine>{
          {"13", "Pays", "UK",
           "country 'UK' is not an ISO 3166-1 alpha-2 code: use GB for the United Kingdom"},
          {"14", "ICE", "00214587300003A",
           "ICE must be 15 digits, got '00214587300003A' (it contains 'A'; write digits only)"},
          {"15", "Code SH", "7731000000",
           "HS code '7731000000' has chapter 77, which the Harmonized System reserves and which "
           "holds no goods; check the code (chapters run from 01 to 97)"},
          {"16", "Secteur", "Tourisme",
           "sector 'Tourisme' is not in the industrie sector table; write a sector such as "
           "Automobile, Aéronautique, Textile et habillement, Agroalimentaire, Produits de la "
           "mer, Pharmacie, Électronique, Chimie et parachimie or Phosphates et dérivés (full "
           "list in plugins/industrie/README.md)"},
          {"17", "Periode", "13/2024", "period '13/2024' has month 13, which does not exist"},
          {"17", "Valeur FOB (DH)", "12,5,0",
           "amount '12,5,0' has a misplaced thousands separator; thousands are grouped by 3 "
           "digits, e.g. 1 234 567,50"}}));
  EXPECT_EQ(stats.rejected, 6);
  EXPECT_EQ(rig.files("done"), std::vector<std::string>{kMa07});
}

TEST(Industrie, SoussMassaSampleWithYearAndMonthColumnsAndCountryNames) {
  PluginRig rig("industrie", "MA-09");
  rig.useSamples("MA-09");
  const auto stats = rig.runOk();
  EXPECT_EQ(stats.upserted, 4 + 8);
  EXPECT_EQ(stats.rejected, 5);
  EXPECT_EQ(rig.query("SELECT exporter_id, hs_code, destination, period, value_mad, quantity "
                      "FROM industrie__export_flows ORDER BY exporter_id, hs_code, destination"),
            (Rows{{"001845276000018", "0805102000", "RU", "2024-01", "986000000", "2310000.0"},
                  // two lines of one key: summed
                  {"001845276000018", "0805211000", "CA", "2024-02", "565000000", "1100300.0"},
                  {"002051397000063", "1604131000", "BR", "2024-03", "297560000", "702000.0"},
                  {"002674130000056", "0702000000", "FR", "2024-02", "741025000", "955600.0"},
                  {"002674130000056", "0702000000", "GB", "2024-01", "318550000", "401300.0"},
                  {"002674130000056", "0702000000", "NL", "2024-01", "624000000", "842000.0"},
                  {"002951468000024", "0303530000", "ES", "2024-03", "164800000", "131500.0"},
                  {"002951468000024", "0307430000", "IT", "2024-03", "221500000", "98700.0"}}));
  EXPECT_EQ(rig.query("SELECT exporter_id, region, city, sector FROM industrie__exporters ORDER "
                      "BY exporter_id"),
            (Rows{{"001845276000018", "MA-09", "Taroudant", "agriculture"},
                  {"002051397000063", "MA-09", "Agadir", "fisheries"},
                  {"002674130000056", "MA-09", "Chtouka Aït Baha", "agriculture"},
                  {"002951468000024", "MA-09", "Agadir", "fisheries"}}));
  const auto errors = rig.errors(kMa09);
  ASSERT_EQ(errors.size(), 5u);
  EXPECT_EQ(errors[0].line, "11");
  EXPECT_EQ(errors[0].column, "N° ICE");
  EXPECT_EQ(errors[1], (ErrorLine{"12", "Pays de destination", "UK",
                                  "country 'UK' is not an ISO 3166-1 alpha-2 code: use GB for "
                                  "the United Kingdom"}));
  EXPECT_EQ(errors[2].column, "Code SH");
  EXPECT_EQ(errors[3],
            (ErrorLine{"14", "Mois", "13", "period '2024-13' has month 13, which does not exist"}));
  EXPECT_EQ(errors[4].column, "Montant FOB (MAD)");
}

TEST(Industrie, FileWithoutARequiredColumnIsRefusedWholeWithItsReason) {
  PluginRig rig("industrie", "MA-06");
  rig.dropFile("sans-code-sh.csv",
               "ICE;Raison sociale;Secteur;Pays;Mois;Valeur FOB (MAD)\n"
               "001758293000041;Atlas Câblage;Automobile;FR;01/2024;1000,00\n");
  const auto stats = rig.runOk();
  EXPECT_EQ(stats.upserted, 0);
  EXPECT_EQ(rig.changes(), 0);
  EXPECT_EQ(rig.files("rejected"),
            (std::vector<std::string>{"sans-code-sh.csv", "sans-code-sh.csv.reason.txt"}));
  EXPECT_EQ(rig.reason("sans-code-sh.csv"),
            "file 'sans-code-sh.csv' (header on line 1) lacks the column of Code SH (accepted "
            "headers: Code SH, SH, Code HS, HS, Code SH (10), Nomenclature SH, Code tarifaire, "
            "Position tarifaire, NGP); columns present: 'ICE', 'Raison sociale', 'Secteur', "
            "'Pays', 'Mois', 'Valeur FOB (MAD)'. Rename the column (case and accents do not "
            "matter) and drop the file again");
  ASSERT_EQ(stats.first_rejections.size(), 1u);
  EXPECT_EQ(stats.first_rejections[0].rfind("sans-code-sh.csv: file 'sans-code-sh.csv'", 0), 0u)
      << stats.first_rejections[0];

  // Fixed and dropped again under the same name: imported (the name is taken in rejected/).
  rig.dropFile("sans-code-sh.csv",
               "ICE;Raison sociale;Secteur;Code SH;Pays;Mois;Valeur FOB (MAD)\n"
               "001758293000041;Atlas Câblage;Automobile;854430;FR;01/2024;1000,00\n");
  const auto fixed = rig.runOk();
  EXPECT_EQ(fixed.upserted, 2);
  EXPECT_EQ(rig.files("done"), std::vector<std::string>{"sans-code-sh (2).csv"});
}

TEST(Industrie, FileWhoseEveryLineIsBadIsRefusedWhole) {
  PluginRig rig("industrie", "MA-06");
  rig.dropFile("tout-faux.csv",
               "ICE;Raison sociale;Secteur;Code SH;Pays;Mois;Valeur FOB (MAD)\n"
               "1234;Atlas;Automobile;854430;FR;01/2024;1000\n"
               "001758293000041;Atlas;Automobile;854430;MA;01/2024;1000\n");
  const auto stats = rig.runOk();
  EXPECT_EQ(stats.upserted, 0);
  EXPECT_EQ(rig.files("rejected"),
            (std::vector<std::string>{"tout-faux.csv", "tout-faux.csv.errors.csv",
                                      "tout-faux.csv.reason.txt"}));
  EXPECT_EQ(rig.reason("tout-faux.csv"),
            "all 2 rows of 'tout-faux.csv' were rejected; see the .errors.csv file beside this "
            "one, correct the rows and drop the file again");
  EXPECT_EQ(rig.errors("tout-faux.csv"),
            (std::vector<ErrorLine>{
                {"2", "ICE", "1234", "ICE must be 15 digits, got '1234' (4 digits)"},
                {"3", "Pays", "MA",
                 "destination 'MA' is Morocco itself; an export needs a foreign destination "
                 "country"}}));
}

TEST(Industrie, EveryBadCellOfALineIsReportedAndNothingOfItIsWritten) {
  PluginRig rig("industrie", "MA-06");
  rig.dropFile("cellules.csv",
               "ICE;Raison sociale;Secteur;Effectif;Code SH;Pays;Mois;Valeur FOB (MAD);Poids "
               "net (kg)\n"
               "001758293000041;Atlas;Automobile;12;854430;FR;01/2024;1000;5\n"
               "002036541000058;;Spatial;beaucoup;85443;XX;2024/13;-5;12 kg\n");
  const auto stats = rig.runOk();
  EXPECT_EQ(stats.upserted, 2);
  const auto errors = rig.errors("cellules.csv");
  std::vector<std::string> columns;
  for (const auto& e : errors) {
    EXPECT_EQ(e.line, "3");
    columns.push_back(e.column);
  }
  EXPECT_EQ(columns,
            (std::vector<std::string>{"Raison sociale", "Secteur", "Effectif", "Code SH", "Pays",
                                      "Mois", "Valeur FOB (MAD)", "Poids net (kg)"}));
  EXPECT_EQ(errors[1].reason.rfind("sector 'Spatial' is not in the industrie sector table", 0), 0u);
  EXPECT_EQ(errors[6].reason, "amount '-5' is negative; an amount of 0 or more is expected");
  EXPECT_EQ(rig.query("SELECT COUNT(*) FROM industrie__exporters"), (Rows{{"1"}}));
}

TEST(Industrie, HeaderAliasesIgnoreCaseAccentsAndPunctuation) {
  PluginRig rig("industrie", "MA-01");
  rig.dropFile("aliases.csv",
               "n° ice;DENOMINATION;Filiere;Nombre d'employes;Ville du siege;Region;SH;"
               "Destination;Periode;Valeur FOB (DHS);Masse nette;Forme juridique;Annee premier "
               "export;CA (MAD)\n"
               "001758293000041;Tanger Wiring Systems;Cablage automobile;80;Tanger;ma-1;"
               "8544.30.00.00;espagne;2024-05;1 000 000,50;1 250,5;SARL AU;2009;12 000 000\n");
  const auto stats = rig.runOk();
  EXPECT_EQ(stats.upserted, 2) << (stats.first_rejections.empty() ? "" : stats.first_rejections[0]);
  EXPECT_EQ(rig.query(kExportersSql),
            (Rows{{"001758293000041", "ice", "Tanger Wiring Systems", "NULL", "sarl_au", "MA-01",
                   "Tanger", "automotive", "medium", "80", "2009"}}));
  EXPECT_EQ(
      rig.query(kFlowsSql),
      (Rows{{"001758293000041", "8544300000", "ES", "2024-05", "100000050", "1250.5", "kg"}}));
}

TEST(Industrie, LinesOfOneKeyAreSummedAndTheWeightIsKnownOnlyWhenEveryLineGivesIt) {
  PluginRig rig("industrie", "MA-06");
  rig.settings()["decimal_mark"] = "comma";
  rig.dropFile("declarations.csv",
               "ICE;Raison sociale;Secteur;Code SH;Pays;Mois;Valeur FOB (MAD);Poids net (kg)\n"
               "001758293000041;Atlas;Automobile;854430;FR;01/2024;1.000,25;10\n"
               "001758293000041;Atlas;Automobile;854430;FR;2024-01;2.000,50;\n"
               "001758293000041;Atlas;Automobile;854430;FR;15/01/2024;3.000;30\n"
               "001758293000041;Atlas;Automobile;854430;ES;01/2024;1,5;1,25\n"
               "001758293000041;Atlas;Automobile;854430;ES;01/2024;2;2,5\n");
  const auto stats = rig.runOk();
  EXPECT_EQ(stats.upserted, 3);
  EXPECT_EQ(rig.query(kFlowsSql),
            (Rows{{"001758293000041", "854430", "ES", "2024-01", "350", "3.75", "kg"},
                  {"001758293000041", "854430", "FR", "2024-01", "600075", "NULL", "NULL"}}));
}

TEST(Industrie, ConfigErrorsNameTheFullKey) {
  for (const auto& [key, value, expect] : std::vector<std::array<std::string, 3>>{
           {"decimal_mark", "virgule",
            "config key 'plugin.industrie.decimal_mark': 'virgule' is not a decimal mark; write "
            "auto, comma or point"},
           {"encodage", "utf-8",
            "config key 'plugin.industrie.encodage' is not a setting of industrie"},
           {"encoding", "ebcdic", "config key 'plugin.industrie.encoding'"},
           {"min_age_s", "-3", "config key 'plugin.industrie.min_age_s': -3 is out of range"}}) {
    PluginRig rig("industrie", "MA-06");
    rig.settings()[key] = value;
    agent::RunStats stats;
    const Status st = rig.run(stats);
    EXPECT_EQ(st.code(), Code::Config) << st.message();
    EXPECT_NE(st.message().find("configure() failed: " + expect), std::string::npos)
        << st.message();
  }
  PluginRig rig("industrie", "MA-06");
  rig.settings().erase("inbox");
  agent::RunStats stats;
  const Status st = rig.run(stats);
  EXPECT_NE(st.message().find("config key 'plugin.industrie.inbox' is missing"), std::string::npos)
      << st.message();
}

TEST(Industrie, CancelledRunMovesNothingAndWritesNothing) {
  PluginRig rig("industrie", "MA-06");
  rig.useSamples("MA-06");
  rig.cancel() = true;
  agent::RunStats stats;
  EXPECT_EQ(rig.run(stats).code(), Code::Cancelled);
  EXPECT_EQ(rig.changes(), 0);
  EXPECT_EQ(rig.files(), std::vector<std::string>{kMa06});
  rig.cancel() = false;
  EXPECT_EQ(rig.runOk().upserted, 19);
}

// --- The parsing library on its own ------------------------------------------------------

TEST(IndustrieTable, NormalizeHeaderFoldsCaseAccentsAndPunctuation) {
  EXPECT_EQ(industrie::normalizeHeader("  N° ICE "), "n ice");
  EXPECT_EQ(industrie::normalizeHeader("Valeur FOB (MAD)"), "valeur fob mad");
  EXPECT_EQ(industrie::normalizeHeader("Période d’export"), "periode d export");
  EXPECT_EQ(industrie::normalizeHeader("ÉLECTRONIQUE & Œuvres"), "electronique oeuvres");
  EXPECT_EQ(industrie::normalizeHeader("الاسم"), "الاسم");
}

TEST(IndustrieTable, AliasesAreUniqueAcrossFields) {
  std::vector<std::string> seen;
  for (const auto& spec : industrie::fieldSpecs()) {
    for (auto alias : spec.aliases) {
      const std::string key = industrie::normalizeHeader(alias);
      EXPECT_EQ(std::count(seen.begin(), seen.end(), key), 0) << alias;
      seen.push_back(key);
    }
  }
}

TEST(IndustrieTable, SectorsDestinationsAndPeriods) {
  EXPECT_EQ(*industrie::parseSector("câblage AUTOMOBILE"), core::Sector::Automotive);
  EXPECT_EQ(*industrie::parseSector("Conserves de poisson"), core::Sector::Fisheries);
  EXPECT_EQ(*industrie::parseSector("textile_leather"), core::Sector::TextileLeather);
  EXPECT_FALSE(industrie::parseSector("Tourisme"));
  EXPECT_EQ(*industrie::parseDestination("États-Unis"), "US");
  EXPECT_EQ(*industrie::parseDestination("fr"), "FR");
  EXPECT_EQ(industrie::parseDestination("Maroc").status().message(),
            "destination 'MA' is Morocco itself; an export needs a foreign destination country");
  EXPECT_EQ(industrie::parsePeriod("Mars 2024")->toString(), "2024-03");
  EXPECT_EQ(industrie::parsePeriod("févr.-2024")->toString(), "2024-02");
  EXPECT_EQ(industrie::parsePeriod("mars-24").status().message(),
            "period 'mars-24' needs a 4-digit year; write e.g. mars 2024 or 03/2024");
  EXPECT_EQ(industrie::parsePeriod("2024-03-15 00:00:00")->toString(), "2024-03");
  EXPECT_EQ(industrie::legalFormFromName("Atlas S.A."), core::LegalForm::Sa);
  EXPECT_EQ(industrie::legalFormFromName("Atlas SARL A.U."), core::LegalForm::SarlAu);
  EXPECT_EQ(industrie::legalFormFromName("Atlas Export"), std::nullopt);
}

}  // namespace
}  // namespace exportsync::testing::plugins
