// The artisanat plugin through the agent runtime (loadPluginFile, collectPlugin) against a
// temporary store and inbox: the office samples of config/samples/artisanat/ (a Windows-1252
// CSV, a UTF-8 CSV with Arabic names, an XLSX workbook) and purpose-made files, with the exact
// rows stored, the exact rejections in rejected/*.errors.csv, files moved to done/ or refused
// whole, and second runs that take nothing again. See plugins/artisanat/README.md.
#include <gtest/gtest.h>

#include <array>
#include <string>
#include <vector>

#include "files_test_util.hpp"
#include "plugin_test_support.hpp"

namespace exportsync::testing::plugins {
namespace {

const std::string kMa07 = "expeditions-artisanat-T1-2024.csv";
const std::string kMa09 = "registre-exportations-artisans-2024.csv";
const std::string kMa03 = "exportations-artisanat-fes-meknes-2024.xlsx";

const std::string kExportersSql = exportersSql("artisanat");
const std::string kFlowsSql = exportFlowsSql("artisanat");
const std::string kArtisansSql =
    "SELECT exporter_id, card_number, ice, workshop, gender, crafts FROM artisanat__artisans "
    "ORDER BY exporter_id";
const std::string kCraftFlowsSql =
    "SELECT exporter_id, craft, hs_code, destination, period, value_mad, quantity, quantity_unit, "
    "shipments, hs_from_category FROM artisanat__craft_flows "
    "ORDER BY exporter_id, craft, hs_code, destination, period";

TEST(Artisanat, DescribesCoreAndOwnDatasets) {
  PluginRig rig("artisanat", "MA-07");
  auto d = rig.describe();
  ASSERT_TRUE(d.isOk()) << d.status().message();
  EXPECT_EQ(d->name, "artisanat");
  EXPECT_EQ(d->version, "1.0.0");
  std::vector<std::string> names;
  for (const auto& ds : d->datasets) {
    names.push_back(ds.name + "/" + std::to_string(ds.columns.size()));
  }
  EXPECT_EQ(names, (std::vector<std::string>{"exporters/11", "export_flows/7", "artisans/6",
                                             "craft_flows/10"}));
}

// MA-07: "CSV (séparateur: point-virgule)" from a French Excel, in Windows-1252, with French
// amounts ("12 500,00") and dates ("15/03/2024").
TEST(Artisanat, MarrakechWindows1252CsvStoresExactRowsAndRejectsTheBadLines) {
  PluginRig rig("artisanat", "MA-07");
  rig.useSamples("MA-07");
  EXPECT_EQ(rig.settings()["encoding"], "windows-1252");
  const auto stats = rig.runOk();
  // 24 lines × (exporters + artisans) + 20 monthly flows + 20 craft flows.
  EXPECT_EQ(stats.upserted, 24 * 2 + 20 + 20);
  EXPECT_EQ(stats.rejected, 6);

  // é, ï and ç decoded from Windows-1252; legal forms from "Artisan", "SARL AU",
  // "Auto-entrepreneur"; the office's region.
  EXPECT_EQ(
      rig.query(kExportersSql),
      (Rows{{"001734562000048", "ice", "Atelier Bab Doukkala SARL AU", "NULL", "sarl_au", "MA-07",
             "Marrakech", "handicrafts", "NULL", "NULL", "NULL"},
            {"001987654000031", "ice", "Lanternes de la Médina", "NULL", "sarl", "MA-07",
             "Marrakech", "handicrafts", "NULL", "NULL", "NULL"},
            {"002145896000072", "ice", "Zellij Art Marrakech", "NULL", "sarl", "MA-07", "Marrakech",
             "handicrafts", "NULL", "NULL", "NULL"},
            {"artisan:CH-07-40218", "artisan", "Khadija Aït Ouahmane", "NULL", "individual",
             "MA-07", "Chichaoua", "handicrafts", "NULL", "NULL", "NULL"},
            {"artisan:ES-07-31007", "artisan", "Rachid Bouzid", "NULL", "individual", "MA-07",
             "Essaouira", "handicrafts", "NULL", "NULL", "NULL"},
            {"artisan:MK-07-10234", "artisan", "Abdelkrim Ouazzani", "NULL", "individual", "MA-07",
             "Marrakech", "handicrafts", "NULL", "NULL", "NULL"},
            {"artisan:MK-07-10301", "artisan", "Saïd Lamrani", "NULL", "individual", "MA-07",
             "Marrakech", "handicrafts", "NULL", "NULL", "NULL"},
            {"artisan:MK-07-11872", "artisan", "Fatima Zahra Amrani", "NULL", "individual", "MA-07",
             "Marrakech", "handicrafts", "NULL", "NULL", "NULL"},
            {"artisan:MK-07-12456", "artisan", "Naïma Benchekroun", "NULL", "auto_entrepreneur",
             "MA-07", "Marrakech", "handicrafts", "NULL", "NULL", "NULL"},
            {"artisan:SF-07-20519", "artisan", "Mohamed Serghini", "NULL", "individual", "MA-07",
             "Safi", "handicrafts", "NULL", "NULL", "NULL"},
            {"artisan:TM-07-50331", "artisan", "Hassan El Haddaoui", "NULL", "individual", "MA-07",
             "Tamesloht", "handicrafts", "NULL", "NULL", "NULL"}}));

  // Values in centimes; lines of one exporter, HS code, destination and month summed (lines
  // 3+4: 11 250,00 + 6 900,50; 13+14: the default 5701.10 and the file's; 11+31; 5+30);
  // the file's HS code wins over the category's (line 10: 6913.90); m² and "paires".
  EXPECT_EQ(rig.query(kFlowsSql),
            (Rows{{"001734562000048", "420221", "CA", "2024-03", "2735000", "80.0", "unit"},
                  {"001734562000048", "420221", "US", "2024-01", "9500000", "300.0", "unit"},
                  {"001987654000031", "940550", "FR", "2024-03", "1925000", "35.0", "unit"},
                  {"001987654000031", "940550", "SA", "2024-03", "3300000", "60.0", "unit"},
                  {"002145896000072", "690730", "AE", "2024-02", "5100000", "85.0", "m2"},
                  {"002145896000072", "690730", "QA", "2024-03", "2640000", "40.0", "m2"},
                  {"artisan:CH-07-40218", "570110", "US", "2024-01", "10800000", "20.0", "unit"},
                  {"artisan:CH-07-40218", "570210", "DE", "2024-03", "2250000", "30.0", "unit"},
                  {"artisan:ES-07-31007", "442090", "GB", "2024-02", "6000000", "320.0", "unit"},
                  {"artisan:ES-07-31007", "442090", "JP", "2024-03", "1950000", "90.0", "unit"},
                  {"artisan:MK-07-10234", "741810", "FR", "2024-01", "1840000", "40.0", "unit"},
                  {"artisan:MK-07-10234", "741810", "FR", "2024-02", "1815050", "40.0", "unit"},
                  {"artisan:MK-07-10301", "732690", "ES", "2024-02", "960000", "20.0", "unit"},
                  {"artisan:MK-07-11872", "630492", "BE", "2024-03", "1250000", "60.0", "unit"},
                  {"artisan:MK-07-11872", "630492", "ES", "2024-01", "3600000", "200.0", "unit"},
                  {"artisan:MK-07-12456", "640359", "FR", "2024-01", "2400000", "400.0", "pair"},
                  {"artisan:MK-07-12456", "640359", "IT", "2024-02", "1575000", "250.0", "pair"},
                  {"artisan:SF-07-20519", "691200", "FR", "2024-01", "3500000", "500.0", "unit"},
                  {"artisan:SF-07-20519", "691390", "DE", "2024-03", "1425000", "150.0", "unit"},
                  {"artisan:TM-07-50331", "691200", "NL", "2024-02", "1560000", "260.0", "unit"}}));

  EXPECT_EQ(rig.query(kArtisansSql),
            (Rows{{"001734562000048", "NULL", "001734562000048", "NULL", "NULL", "leather"},
                  {"001987654000031", "NULL", "001987654000031", "NULL", "NULL", "lighting"},
                  {"002145896000072", "NULL", "002145896000072", "NULL", "NULL", "zellige"},
                  {"artisan:CH-07-40218", "CH-07-40218", "NULL", "Coopérative Tapis Chichaoua",
                   "female", "carpets,kilims"},
                  {"artisan:ES-07-31007", "ES-07-31007", "NULL", "Coopérative Thuya Essaouira",
                   "male", "wood"},
                  {"artisan:MK-07-10234", "MK-07-10234", "NULL", "Ensemble artisanal de Marrakech",
                   "male", "brass"},
                  {"artisan:MK-07-10301", "MK-07-10301", "NULL", "NULL", "male", "ironwork"},
                  {"artisan:MK-07-11872", "MK-07-11872", "NULL",
                   "Coopérative Al Amal des tisseuses", "female", "textiles"},
                  {"artisan:MK-07-12456", "MK-07-12456", "NULL", "NULL", "female", "babouches"},
                  {"artisan:SF-07-20519", "SF-07-20519", "NULL", "Colline des potiers", "male",
                   "pottery"},
                  {"artisan:TM-07-50331", "TM-07-50331", "NULL", "NULL", "male", "pottery"}}));

  // Spot checks of the craft detail: shipments counted, and whether the HS code is the
  // category's default (1) or came from the file on every line (0).
  const auto crafts = rig.query(kCraftFlowsSql);
  ASSERT_EQ(crafts.size(), 20u);
  EXPECT_EQ(crafts[6], (std::vector<std::string>{"artisan:CH-07-40218", "carpets", "570110", "US",
                                                 "2024-01", "10800000", "20.0", "unit", "2", "0"}));
  EXPECT_EQ(crafts[11], (std::vector<std::string>{"artisan:MK-07-10234", "brass", "741810", "FR",
                                                  "2024-02", "1815050", "40.0", "unit", "2", "1"}));
  EXPECT_EQ(crafts[18],
            (std::vector<std::string>{"artisan:SF-07-20519", "pottery", "691390", "DE", "2024-03",
                                      "1425000", "150.0", "unit", "1", "0"}));

  EXPECT_EQ(rig.files(), std::vector<std::string>{});
  EXPECT_EQ(rig.files("done"), std::vector<std::string>{kMa07});
  EXPECT_EQ(rig.files("rejected"), std::vector<std::string>{kMa07 + ".errors.csv"});
  EXPECT_EQ(
      rig.errors(kMa07),
      (std::vector<ErrorLine>{
          {"23", "ICE", "00173456200004",
           "ICE must be 15 digits, got '00173456200004' (14 digits); if a spreadsheet dropped "
           "its leading zeros, format the column as text and type the ICE again"},
          {"24", "Pays de destination", "UK",
           "country 'UK' is not an ISO 3166-1 alpha-2 code: use GB for the United Kingdom"},
          {"25", "Valeur (MAD)", "'-3 200,00",
           "amount '-3 200,00' is negative; an amount of 0 or more is expected"},
          {"26", "Date d'expédition", "29/02/2023",
           "date '29/02/2023' does not exist: 2023 is not a leap year (February has 28 days)"},
          {"27", "Catégorie", "Bijoux fantaisie",
           "craft category 'Bijoux fantaisie' is unknown; write one of: tapis, kilim, poterie, "
           "zellige, maroquinerie, babouches, bois, meubles, dinanderie, luminaires, "
           "ferronnerie, textiles, bijouterie, vannerie, pierre, autre (autre needs the HS "
           "code)"},
          {"28", "Valeur (MAD)", "1.250",
           "amount '1.250' is ambiguous: it may mean 1250 or 1.250; write whole numbers without "
           "'.' (e.g. 1250 or 1 250), or set the source's decimal mark"}}));

  // A second run finds nothing new: the file is in done/, nothing is written or moved again.
  const int64_t changes = rig.changes();
  const auto again = rig.runOk();
  EXPECT_EQ(again.upserted, 0);
  EXPECT_EQ(again.rejected, 0);
  EXPECT_EQ(again.renamed, 0);
  EXPECT_EQ(rig.changes(), changes);
  EXPECT_EQ(rig.files("done"), std::vector<std::string>{kMa07});
}

// MA-09: UTF-8 CSV with Arabic names, other header spellings ("RNA", "Filière", "SH", "Pays",
// "Mois", "Qté", "Valeur DH") and months instead of dates.
TEST(Artisanat, SoussMassaCsvWithArabicNamesAndMonths) {
  PluginRig rig("artisanat", "MA-09");
  rig.useSamples("MA-09");
  const auto stats = rig.runOk();
  EXPECT_EQ(stats.rejected, 6);

  EXPECT_EQ(
      rig.query("SELECT exporter_id, name, name_ar, city, region FROM artisanat__exporters "
                "ORDER BY exporter_id"),
      (Rows{{"artisan:AG-09-03345", "Omar Bouhssine", "عمر بوحسين", "Agadir", "MA-09"},
            {"artisan:IN-09-04010", "Fadma Aït Lhaj", "فاطمة أيت الحاج", "Inezgane", "MA-09"},
            {"artisan:TF-09-01120", "Lahcen Idbelkacem", "لحسن إدبلقاسم", "Tafraout", "MA-09"},
            {"artisan:TR-09-02233", "Mina Aït Ouakrim", "مينة أيت واكريم", "Taroudant", "MA-09"},
            {"artisan:TR-09-02290", "Rkia Oudaden", "رقية أودادن", "Taroudant", "MA-09"},
            {"artisan:TZ-09-00412", "Brahim Aït Baha", "إبراهيم أيت باها", "Tiznit", "MA-09"},
            {"artisan:TZ-09-00587", "Aïcha Oubella", "عائشة أوبلا", "Tiznit", "MA-09"},
            {"artisan:TZ-09-00655", "Hafsa Bouzaid", "حفصة بوزيد", "Tiznit", "MA-09"}}));

  // Lines 5+6 (300 + 120 "paire") and 9+18 ("Bois" and "Marqueterie", both 4420.90) summed;
  // line 7's carpets in m2 kept, line 8's "unité" for the same month refused.
  EXPECT_EQ(rig.query(kFlowsSql),
            (Rows{{"artisan:AG-09-03345", "442090", "CA", "2024-01", "1620000", "60.0", "unit"},
                  {"artisan:AG-09-03345", "442090", "US", "2024-03", "900000", "30.0", "unit"},
                  {"artisan:IN-09-04010", "460219", "ES", "2024-02", "750000", "500.0", "unit"},
                  {"artisan:TF-09-01120", "640359", "FR", "2024-02", "2730000", "420.0", "pair"},
                  {"artisan:TF-09-01120", "640359", "NL", "2024-03", "1300000", "200.0", "pair"},
                  {"artisan:TR-09-02233", "570110", "DE", "2024-03", "900000", "6.0", "m2"},
                  {"artisan:TR-09-02290", "630492", "FR", "2024-02", "1120000", "80.0", "unit"},
                  {"artisan:TZ-09-00412", "711311", "ES", "2024-02", "2790000", "90.0", "unit"},
                  {"artisan:TZ-09-00412", "711311", "FR", "2024-01", "4650000", "150.0", "unit"},
                  {"artisan:TZ-09-00587", "711311", "FR", "2024-01", "1800000", "60.0", "unit"},
                  {"artisan:TZ-09-00587", "711311", "GB", "2024-03", "1190000", "35.0", "unit"},
                  {"artisan:TZ-09-00655", "711311", "AE", "2024-02", "1680000", "40.0", "unit"},
                  {"artisan:TZ-09-00655", "711311", "SA", "2024-03", "1050000", "25.0", "unit"}}));
  EXPECT_EQ(rig.query("SELECT gender, workshop FROM artisanat__artisans WHERE exporter_id = "
                      "'artisan:TZ-09-00587'"),
            (Rows{{"female", "Coopérative Tifawin des bijoux"}}));

  EXPECT_EQ(
      rig.errors(kMa09),
      (std::vector<ErrorLine>{
          {"8", "Unité", "unité",
           "unit 'unit' differs from 'm2' on line 7 for the same exporter, HS code, destination "
           "and month; a monthly flow has one unit: convert the quantity"},
          {"12", "Pays", "EH",
           "destination 'EH' is not used: the southern provinces lie in Moroccan regions (MA-10 "
           "to MA-12), so a shipment there is not an export"},
          {"13", "SH", "71131",
           "HS code must have 6, 8 or 10 digits (e.g. 5701.10 or 5701.10.00.00), got '71131' (5 "
           "digits); if a spreadsheet dropped a leading 0 (chapters 01 to 09), format the column "
           "as text and type the code again"},
          {"14", "Genre", "X", "gender 'X' is not understood; write F (femme) or H (homme)"},
          {"15", "Nom de l'artisan", "Brahim Ait Bahha",
           "'Brahim Ait Bahha' differs from 'Brahim Aït Baha' given on line 2 for the same "
           "exporter (artisan:TZ-09-00412); correct one of them"},
          {"16", "Mois", "12/2099",
           "month '12/2099' has not begun (today is " + todayIso() + "); check the year"}}));
  EXPECT_EQ(rig.files("done"), std::vector<std::string>{kMa09});
}

// MA-03: an XLSX workbook: date cells (format 14) give the months, numbers come as numbers,
// an ICE typed as a number gets its leading zeros back.
TEST(Artisanat, FesMeknesXlsxReadsDateCellsAndNumbers) {
  PluginRig rig("artisanat", "MA-03");
  rig.useSamples("MA-03");
  const auto stats = rig.runOk();
  EXPECT_EQ(stats.rejected, 6);

  EXPECT_EQ(rig.query("SELECT exporter_id, legal_form, city FROM artisanat__exporters "
                      "ORDER BY exporter_id"),
            (Rows{{"001525148000067", "other", "Fès"},
                  {"002030405000019", "other", "Fès"},
                  {"artisan:FS-03-00871", "individual", "Fès"},
                  {"artisan:FS-03-01245", "individual", "Fès"},
                  {"artisan:FS-03-01302", "individual", "Fès"},
                  {"artisan:MK-03-02210", "individual", "Meknès"},
                  {"artisan:SF-03-03011", "individual", "Sefrou"},
                  {"artisan:TA-03-04102", "individual", "Taounate"}}));
  // 2024-01-12 and 2024-01-26 (62 500 + 25 000,5) in one month; the ICE 1525148000067 typed
  // as a number is the same exporter as the text 001525148000067; 8306.29 (text) kept over the
  // ironwork default 7326.90, which the next line without HS code takes.
  EXPECT_EQ(rig.query(kFlowsSql),
            (Rows{{"001525148000067", "690730", "ES", "2024-02", "8400000", "120.0", "m2"},
                  {"001525148000067", "690730", "US", "2024-03", "4560000", "60.0", "m2"},
                  {"002030405000019", "442090", "FR", "2024-02", "2200000", "40.0", "unit"},
                  {"artisan:FS-03-00871", "420221", "FR", "2024-01", "8750050", "350.0", "unit"},
                  {"artisan:FS-03-00871", "420221", "NL", "2024-02", "3000000", "120.0", "unit"},
                  {"artisan:FS-03-01245", "741810", "DE", "2024-02", "4500000", "100.0", "unit"},
                  {"artisan:FS-03-01302", "691200", "FR", "2024-03", "2800000", "400.0", "unit"},
                  {"artisan:FS-03-01302", "691200", "GB", "2024-03", "1125075", "150.0", "unit"},
                  {"artisan:MK-03-02210", "732690", "US", "2024-03", "840000", "12.0", "unit"},
                  {"artisan:MK-03-02210", "830629", "FR", "2024-01", "1750000", "35.0", "unit"},
                  {"artisan:SF-03-03011", "630492", "BE", "2024-02", "1395000", "90.0", "unit"},
                  {"artisan:TA-03-04102", "460219", "ES", "2024-03", "900000", "300.0", "unit"},
                  {"artisan:TA-03-04102", "460219", "FR", "2024-03", "600000", "200.0", "unit"}}));

  EXPECT_EQ(
      rig.errors(kMa03),
      (std::vector<ErrorLine>{
          {"13", "Date d'expédition", "31/04/2024",
           "date '31/04/2024' does not exist: April 2024 has 30 days"},
          {"14", "Date d'expédition", "2031-05-10",
           "date '2031-05-10' is in the future (today is " + todayIso() + "); check the year"},
          {"15", "Code SH", "7701.10",
           "HS code '7701.10' has chapter 77, which the Harmonized System reserves and which "
           "holds no goods; check the code (chapters run from 01 to 97)"},
          {"16", "Catégorie", "Tapisserie murale",
           "craft category 'Tapisserie murale' is unknown; write one of: tapis, kilim, poterie, "
           "zellige, maroquinerie, babouches, bois, meubles, dinanderie, luminaires, "
           "ferronnerie, textiles, bijouterie, vannerie, pierre, autre (autre needs the HS "
           "code)"},
          {"17", "N° carte artisan", "",
           "no identifier: give the artisan card number or, for a workshop registered as a firm, "
           "its ICE"},
          {"18", "Valeur (MAD)", "1 500 EUR",
           "amount '1 500 EUR' is not in dirhams; convert it to "
           "MAD"}}));
  EXPECT_EQ(rig.files("done"), std::vector<std::string>{kMa03});
}

// Headers typed without accents, in capitals or with other punctuation are the same columns.
TEST(Artisanat, HeaderAliasesIgnoreAccentsCaseAndPunctuation) {
  PluginRig rig("artisanat", "MA-05");
  rig.dropFile(
      "khenifra.csv",
      csv({"NUMERO CARTE ARTISAN;Nom et prenom;Categorie;Code HS;Pays destination;"
           "Date d\xE2\x80\x99"
           "expedition;Quantite;Valeur en MAD;Region;Observations",
           "KH-05-00017;Itto Ouhammou;Tapis;;fr;15/03/2024;3;18 900;Béni Mellal-Khénifra;"
           "zaïane",
           "KH-05-00017;ITTO OUHAMMOU;tapis noués;5701.10.00.10;FR;28/03/2024;2;12 600;;"}));
  rig.runOk();
  // The region's French name gives its code; the second line's name differs only in case; its
  // 10-digit HS code is another product than the 6-digit default.
  EXPECT_EQ(rig.query("SELECT exporter_id, name, region FROM artisanat__exporters"),
            (Rows{{"artisan:KH-05-00017", "Itto Ouhammou", "MA-05"}}));
  EXPECT_EQ(
      rig.query(kFlowsSql),
      (Rows{{"artisan:KH-05-00017", "570110", "FR", "2024-03", "1890000", "3.0", "unit"},
            {"artisan:KH-05-00017", "5701100010", "FR", "2024-03", "1260000", "2.0", "unit"}}));
  EXPECT_EQ(rig.files("rejected"), std::vector<std::string>{});
  bool logged = false;
  for (const auto& [level, line] : rig.logs()) {
    logged = logged || line == "'khenifra.csv': columns not read: 'Observations'";
  }
  EXPECT_TRUE(logged) << "the column no field matches is reported";
}

TEST(Artisanat, FileWithoutRequiredColumnIsRejectedWholeWithItsReason) {
  PluginRig rig("artisanat", "MA-07");
  rig.dropFile("sans-identifiant.csv",
               csv({"Nom;Catégorie;Pays;Date;Valeur", "Ali;Tapis;FR;01/02/2024;100"}));
  const auto stats = rig.runOk();
  EXPECT_EQ(stats.upserted, 0);
  EXPECT_EQ(rig.files("done"), std::vector<std::string>{});
  EXPECT_EQ(rig.files("rejected"),
            (std::vector<std::string>{"sans-identifiant.csv", "sans-identifiant.csv.reason.txt"}));
  EXPECT_EQ(rig.reason("sans-identifiant.csv"),
            "file 'sans-identifiant.csv' has no column for the artisan card number (a column "
            "headed 'N° carte artisan', 'N° carte d'artisan', 'Numéro carte artisan', 'Numéro de "
            "carte artisan', 'Numéro de la carte d'artisan', 'Carte artisan' …) or the ICE of a "
            "workshop registered as a firm (a column headed 'ICE', 'N° ICE', 'Numéro ICE', 'ICE "
            "atelier', 'ICE de l'atelier', 'Identifiant commun de l'entreprise' …); add one to "
            "the header (line 1, columns found: 'Nom', 'Catégorie', 'Pays', 'Date', 'Valeur')");
}

TEST(Artisanat, TwoColumnsForOneFieldRejectTheFile) {
  PluginRig rig("artisanat", "MA-07");
  rig.dropFile("double.csv", csv({"RNA;Nom;Pays;Pays de destination;Date;Catégorie;Valeur",
                                  "MK-1;Ali;FR;FR;01/02/2024;Tapis;100"}));
  rig.runOk();
  EXPECT_EQ(rig.reason("double.csv"),
            "file 'double.csv' has two columns for the country of destination: 'Pays' (column 3) "
            "and 'Pays de destination' (column 4); keep one of them or rename the other");
}

TEST(Artisanat, FileWhoseEveryLineIsBadMovesToRejectedWithItsErrors) {
  PluginRig rig("artisanat", "MA-07");
  rig.dropFile("tout-faux.csv",
               csv({"RNA;Nom;Catégorie;Pays;Date;Valeur", "MK-1;Ali;Tapis;UK;01/02/2024;100",
                    "MK-2;Omar;Tapis;FR;31/02/2024;100"}));
  const auto stats = rig.runOk();
  EXPECT_EQ(stats.upserted, 0);
  EXPECT_EQ(stats.rejected, 3);  // two lines, and the file
  EXPECT_EQ(rig.files("rejected"),
            (std::vector<std::string>{"tout-faux.csv", "tout-faux.csv.errors.csv",
                                      "tout-faux.csv.reason.txt"}));
  EXPECT_EQ(rig.reason("tout-faux.csv"),
            "all 2 rows of 'tout-faux.csv' were rejected; see the .errors.csv file beside this "
            "one, correct the rows and drop the file again");
  EXPECT_EQ(rig.errors("tout-faux.csv").size(), 2u);
  EXPECT_EQ(rig.query("SELECT COUNT(*) FROM artisanat__exporters"), (Rows{{"0"}}));

  // Dropped again after a fix, it is taken (its content was not remembered).
  rig.dropFile("tout-faux.csv",
               csv({"RNA;Nom;Catégorie;Pays;Date;Valeur", "MK-1;Ali;Tapis;GB;01/02/2024;100",
                    "MK-2;Omar;Tapis;FR;28/02/2024;100"}));
  rig.runOk();
  // The name is taken in rejected/ by the first copy: the kit never overwrites.
  EXPECT_EQ(rig.files("done"), std::vector<std::string>{"tout-faux (2).csv"});
  EXPECT_EQ(rig.query("SELECT COUNT(*) FROM artisanat__exporters"), (Rows{{"2"}}));
}

// Without the encoding setting, a Windows-1252 file is refused whole with what to change.
TEST(Artisanat, Windows1252FileWithoutTheSettingIsRefusedNamingTheKey) {
  PluginRig rig("artisanat", "MA-07");
  rig.copySample("config/samples/artisanat/MA-07/" + kMa07);
  rig.runOk();
  EXPECT_EQ(rig.files("rejected"), (std::vector<std::string>{kMa07, kMa07 + ".reason.txt"}));
  EXPECT_NE(rig.reason(kMa07).find("plugin.artisanat.encoding"), std::string::npos)
      << rig.reason(kMa07);
}

// A file that leaves columns out does not erase what an earlier file said about an artisan.
TEST(Artisanat, LaterFileWithFewerColumnsKeepsWhatIsKnown) {
  PluginRig rig("artisanat", "MA-08");
  rig.dropFile("1-registre.csv",
               csv({"N° carte artisan;Nom;Ville;Atelier;Sexe;Catégorie",
                    "ZG-08-00301;Fatima Aït Oufella;Taznakht;Coopérative Tamunt;F;Tapis"}));
  rig.runOk();
  rig.dropFile("2-expeditions.csv",
               csv({"N° carte artisan;Nom;Catégorie;Pays;Date;Valeur",
                    "ZG-08-00301;Fatima Aït Oufella;Poterie;DE;12/04/2024;4 000,00"}));
  rig.runOk();
  EXPECT_EQ(rig.query("SELECT city FROM artisanat__exporters"), (Rows{{"Taznakht"}}));
  EXPECT_EQ(rig.query("SELECT workshop, gender, crafts FROM artisanat__artisans"),
            (Rows{{"Coopérative Tamunt", "female", "carpets,pottery"}}));
}

// A card given with an ICE on one line identifies the ICE's exporter on lines without it.
TEST(Artisanat, CardWithIceOnOneLineJoinsTheLinesWithTheCardOnly) {
  PluginRig rig("artisanat", "MA-07");
  rig.dropFile("atelier.csv",
               csv({"N° carte artisan;ICE;Raison sociale;Catégorie;Pays;Date;Valeur",
                    "MK-07-20001;;Atelier Riad Cuir;Maroquinerie;FR;05/03/2024;1 000",
                    "MK-07-20001;002468013000057;Atelier Riad Cuir;Maroquinerie;FR;06/03/2024;500",
                    "MK-07-20001;001111111000011;Atelier Riad Cuir;Maroquinerie;FR;07/03/2024;9"}));
  rig.runOk();
  EXPECT_EQ(rig.query("SELECT exporter_id, card_number, ice FROM artisanat__artisans"),
            (Rows{{"002468013000057", "MK-07-20001", "002468013000057"}}));
  EXPECT_EQ(rig.query("SELECT exporter_id, value_mad FROM artisanat__export_flows"),
            (Rows{{"002468013000057", "150000"}}));
  EXPECT_EQ(rig.errors("atelier.csv"),
            (std::vector<ErrorLine>{
                {"4", "N° carte artisan", "MK-07-20001",
                 "artisan card 'MK-07-20001' is given with ICE 002468013000057 on line 3; one card "
                 "belongs to one exporter: check the ICE or the card"}}));
}

// A purpose-made workbook: a date cell, an ICE and an HS code typed as numbers, a number with
// decimals, and a shared string with a "1.250"-like text that stays ambiguous.
TEST(Artisanat, XlsxNumbersAndDatesAreReadAsExcelShowsThem) {
  PluginRig rig("artisanat", "MA-03");
  const std::string sheet =
      "<row r=\"1\"><c r=\"A1\" t=\"s\"><v>0</v></c><c r=\"B1\" t=\"s\"><v>1</v></c>"
      "<c r=\"C1\" t=\"s\"><v>2</v></c><c r=\"D1\" t=\"s\"><v>3</v></c>"
      "<c r=\"E1\" t=\"s\"><v>4</v></c><c r=\"F1\" t=\"s\"><v>5</v></c>"
      "<c r=\"G1\" t=\"s\"><v>6</v></c></row>"
      // ICE 002233445000061 typed as a number; 15 March 2024 as serial 45366 with format 14.
      "<row r=\"2\"><c r=\"A2\"><v>2233445000061</v></c><c r=\"B2\" t=\"s\"><v>7</v></c>"
      "<c r=\"C2\" t=\"s\"><v>8</v></c><c r=\"D2\"><v>691200</v></c>"
      "<c r=\"E2\" t=\"s\"><v>9</v></c><c r=\"F2\" s=\"1\"><v>45366</v></c>"
      "<c r=\"G2\"><v>1234.5</v></c></row>"
      // A value typed as text "1.250" is as ambiguous in a workbook as in a CSV file.
      "<row r=\"3\"><c r=\"A3\"><v>2233445000061</v></c><c r=\"B3\" t=\"s\"><v>7</v></c>"
      "<c r=\"C3\" t=\"s\"><v>8</v></c><c r=\"D3\"><v>691200</v></c>"
      "<c r=\"E3\" t=\"s\"><v>9</v></c><c r=\"F3\" s=\"1\"><v>45367</v></c>"
      "<c r=\"G3\" t=\"s\"><v>10</v></c></row>";
  rig.dropFile("safi.xlsx",
               files::testing::XlsxBuilder()
                   .sheet("Feuil1", sheet)
                   .sharedStrings({"<t>ICE</t>", "<t>Raison sociale</t>", "<t>Catégorie</t>",
                                   "<t>Code SH</t>", "<t>Pays</t>", "<t>Date d'expédition</t>",
                                   "<t>Valeur (MAD)</t>", "<t>Poterie de Safi</t>",
                                   "<t>Poterie</t>", "<t>JP</t>", "<t>1.250</t>"})
                   .cellFormats({0, 14})
                   .build());
  rig.runOk();
  EXPECT_EQ(rig.query(kFlowsSql),
            (Rows{{"002233445000061", "691200", "JP", "2024-03", "123450", "NULL", "NULL"}}));
  const auto errors = rig.errors("safi.xlsx");
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].line, "3");
  EXPECT_EQ(errors[0].column, "Valeur (MAD)");
}

TEST(Artisanat, DecimalMarkSettingReadsCommaSources) {
  PluginRig rig("artisanat", "MA-07");
  rig.settings()["decimal_mark"] = "comma";
  rig.dropFile("virgule.csv",
               csv({"RNA;Nom;Catégorie;Pays;Date;Valeur", "MK-1;Ali;Tapis;FR;01/02/2024;1.250"}));
  rig.runOk();
  EXPECT_EQ(rig.query("SELECT value_mad FROM artisanat__export_flows"), (Rows{{"125000"}}));
}

TEST(Artisanat, BadSettingsFailTheRunNamingTheKey) {
  for (const auto& [key, value, expect] : std::vector<std::array<std::string, 3>>{
           {"decimal_mark", "semicolon",
            "config key 'plugin.artisanat.decimal_mark': 'semicolon' is not a decimal mark; "
            "write auto, comma or point"},
           {"inbox", "inbox/artisanat",
            "config key 'plugin.artisanat.inbox': 'inbox/artisanat' is not an absolute path; "
            "give the inbox folder from /"},
           {"encoding", "ebcdic", "plugin.artisanat.encoding"}}) {
    PluginRig rig("artisanat", "MA-07");
    rig.settings()[key] = value;
    agent::RunStats stats;
    const Status st = rig.run(stats);
    ASSERT_FALSE(st.isOk()) << key;
    EXPECT_NE(st.message().find(expect), std::string::npos) << st.message();
  }
  PluginRig rig("artisanat", "MA-07");
  rig.settings().erase("inbox");
  agent::RunStats stats;
  const Status st = rig.run(stats);
  EXPECT_NE(st.message().find("plugin.artisanat.inbox"), std::string::npos) << st.message();
}

}  // namespace
}  // namespace exportsync::testing::plugins
