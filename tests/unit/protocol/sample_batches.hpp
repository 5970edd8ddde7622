// Deterministic batches for the protocol tests, the wire-size check and the fuzz corpus:
// exporter-like rows (customs declarations) of 16 columns with ICE numbers, French and Arabic
// names, HS codes, ISO country codes, dates, amounts, quantities and timestamps, plus the CSV
// text of the same rows to compare sizes against.
#pragma once

#include <cinttypes>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "exportsync/dataset.hpp"
#include "exportsync/protocol/batch.hpp"

namespace exportsync::protocol::testing {

inline BatchHeader sampleHeader(int64_t base_seq = 0) {
  BatchHeader h;
  h.agent_id = "agent-ma05-casa-01";
  h.incarnation = "4f1c2a9e8b7d6c5a4f1c2a9e8b7d6c5a";
  h.region = "MA-06";
  h.base_seq = base_seq;
  h.first_seq = 0;
  h.last_seq = base_seq;
  return h;
}

/// The 16-column declarations dataset.
inline DatasetDescriptor declarationsDataset() {
  DatasetDescriptor d;
  d.plugin = "industrie";
  d.name = "declarations";
  d.version = 2;
  auto col = [&d](const char* name, ColumnType type, bool key = false, bool nullable = false) {
    d.columns.push_back(Column{name, type, key, nullable});
  };
  col("declaration_id", ColumnType::Integer, true);
  col("ice", ColumnType::Text);
  col("exporter_name", ColumnType::Text);
  col("city", ColumnType::Text);
  col("hs_code", ColumnType::Text);
  col("product", ColumnType::Text);
  col("country", ColumnType::Text);
  col("customs_office", ColumnType::Integer);
  col("declared_on", ColumnType::Date);
  col("fob_value", ColumnType::Money);
  col("quantity", ColumnType::Real);
  col("unit", ColumnType::Text);
  col("transport", ColumnType::Text);
  col("incoterm", ColumnType::Text, false, true);
  col("verified", ColumnType::Boolean);
  col("updated_at", ColumnType::Timestamp);
  return d;
}

/// Generates declaration rows and renders them as CSV, deterministically for a given seed.
class DeclarationGenerator {
 public:
  /// `exporters`: size of the pool of exporters rows are drawn from (skewed: big exporters
  /// declare more); as many as rows makes ICE numbers and names nearly unique per row.
  explicit DeclarationGenerator(uint64_t seed = 42, size_t exporters = 1500) : rng_(seed) {
    static const char* const kFirst[] = {
        "Société",   "Atlas",    "Maroc",   "Sud",   "Coopérative", "Établissements",
        "Groupe",    "Comptoir", "Agrumes", "Souss", "Oriental",    "Textiles",
        "Conserves", "Argan",    "Tanger",  "Rif",   "Nord",        "Export"};
    static const char* const kSecond[] = {"Export",  "Agro",      "Industries", "Trading",
                                          "Négoce",  "Frères",    "Marée",      "Primeurs",
                                          "Textile", "Céramique", "Cuirs",      "Olives"};
    static const char* const kForm[] = {"SARL", "SA", "SARL AU", "SNC"};
    static const char* const kArabic[] = {"شركة الأطلس للتصدير",    "تعاونية أركان سوس",
                                          "مجموعة المغرب الصناعية", "شركة الشمال للنسيج",
                                          "مصبرات الصويرة",         "تعاونية الزيتون بتاونات"};
    static const char* const kCities[] = {
        "Casablanca", "Tanger",  "Agadir", "Marrakech", "Fès",        "Meknès",    "Oujda",
        "Kénitra",    "Tétouan", "Safi",   "El Jadida", "Nador",      "Laâyoune",  "Béni Mellal",
        "Rabat",      "Salé",    "Dakhla", "Essaouira", "Mohammedia", "Berrechid", "Settat"};
    for (size_t i = 0; i < exporters; ++i) {
      Exporter e;
      char ice[32];
      std::snprintf(ice, sizeof ice, "%015" PRIu64,
                    static_cast<uint64_t>(rng_() % 1000000000000000ULL));
      e.ice = ice;
      if (pick(10) < 2) {
        e.name = kArabic[pick(6)];
        e.name += " " + std::to_string(pick(90) + 10);
      } else {
        e.name = std::string(kFirst[pick(18)]) + " " + kSecond[pick(12)] + " " + kForm[pick(4)];
        if (exporters > 2000) {
          e.name += " " + std::to_string(pick(1000));  // a big pool needs distinct names
        }
      }
      e.city = kCities[pick(21)];
      e.office = 100 + static_cast<int64_t>(pick(30)) * 3;
      exporters_.push_back(e);
    }
    static const char* const kProducts[] = {"Oranges fraîches",
                                            "Clémentines",
                                            "Tomates cerises",
                                            "Poivrons doux",
                                            "Haricots verts",
                                            "Huile d'olive vierge extra",
                                            "Huile d'argan cosmétique",
                                            "Sardines en conserve",
                                            "Poulpes congelés",
                                            "Phosphate de calcium",
                                            "Acide phosphorique",
                                            "Engrais NPK",
                                            "Câbles électriques",
                                            "Faisceaux de câbles",
                                            "Pièces automobiles",
                                            "Jeans en coton",
                                            "T-shirts en coton",
                                            "Chaussures en cuir",
                                            "Carreaux de céramique",
                                            "Tapis berbères",
                                            "Dattes Medjool",
                                            "Fraises surgelées",
                                            "Avocats Hass",
                                            "Myrtilles fraîches"};
    for (int i = 0; i < 300; ++i) {
      Product p;
      char hs[32];
      std::snprintf(hs, sizeof hs, "%02d%02d%02d%04d", 1 + static_cast<int>(pick(97)),
                    static_cast<int>(pick(99)), static_cast<int>(pick(99)),
                    static_cast<int>(pick(10000)));
      p.hs = hs;
      p.name = std::string(kProducts[pick(24)]) + " calibre " + std::to_string(pick(9) + 1);
      products_.push_back(p);
    }
  }

  /// Values of one row in descriptor order; `n` is the row's ordinal (ids and times grow).
  std::vector<Value> row(int64_t n) {
    static const char* const kCountries[] = {"FR", "ES", "NL", "DE", "GB", "IT", "BE", "US",
                                             "PT", "SN", "CI", "MR", "CN", "IN", "BR", "RU",
                                             "TR", "SA", "AE", "EG", "CA", "PL", "SE", "JP"};
    static const char* const kUnits[] = {"KG", "KG", "KG", "T", "U", "L"};
    static const char* const kTransport[] = {"maritime", "maritime", "routier", "aérien"};
    static const char* const kIncoterms[] = {"FOB", "CIF", "EXW", "CFR", "DAP"};
    const Exporter& e = exporters_[skewed(exporters_.size())];
    const Product& p = products_[skewed(products_.size())];
    std::vector<Value> v;
    v.reserve(16);
    v.emplace_back(static_cast<int64_t>(2024000000 + n * 3 + static_cast<int64_t>(pick(3))));
    v.emplace_back(e.ice);
    v.emplace_back(e.name);
    v.emplace_back(e.city);
    v.emplace_back(p.hs);
    v.emplace_back(p.name);
    v.emplace_back(kCountries[skewed(24)]);
    v.emplace_back(e.office);
    v.emplace_back(Date::fromDays(19723 + n / 300 + static_cast<int64_t>(pick(5))));
    const double amount = std::exp(std::normal_distribution<double>(11.5, 1.6)(rng_));
    v.emplace_back(Money::fromCentimes(static_cast<int64_t>(amount) * 100 +
                                       (pick(4) == 0 ? static_cast<int64_t>(pick(100)) : 0)));
    v.emplace_back(static_cast<double>(static_cast<int64_t>(amount / 9)) / 2.0);
    v.emplace_back(kUnits[pick(6)]);
    v.emplace_back(kTransport[pick(4)]);
    if (pick(5) == 0) {
      v.emplace_back(nullptr);
    } else {
      v.emplace_back(kIncoterms[skewed(5)]);
    }
    v.emplace_back(pick(8) != 0);
    v.emplace_back(Timestamp::fromMicros(1704067200000000 + n * 2170000 +
                                         static_cast<int64_t>(pick(2000000))));
    return v;
  }

  /// A batch of `rows` inserts with seqs base_seq+1.. (seq gaps every few rows, like a store
  /// whose other datasets take seqs in between).
  Batch batch(size_t rows, int64_t base_seq = 0) {
    Batch b;
    b.header = sampleHeader(base_seq);
    b.header.datasets.push_back(declarationsDataset());
    int64_t seq = base_seq;
    b.changes.reserve(rows);
    for (size_t i = 0; i < rows; ++i) {
      seq += pick(10) == 0 ? 2 : 1;
      ChangeRecord c;
      c.seq = seq;
      c.op = Op::Insert;
      c.values = row(static_cast<int64_t>(i));
      b.changes.push_back(std::move(c));
    }
    b.header.row_count = rows;
    if (rows > 0) {
      b.header.first_seq = b.changes.front().seq;
      b.header.last_seq = b.changes.back().seq;
    }
    return b;
  }

  /// The CSV (header line, comma-separated, RFC 4180 quoting) of a batch's values.
  static std::string csv(const Batch& b) {
    std::string out;
    const auto& cols = b.header.datasets.at(0).columns;
    for (size_t i = 0; i < cols.size(); ++i) {
      out += (i == 0 ? "" : ",") + cols[i].name;
    }
    out += '\n';
    for (const auto& ch : b.changes) {
      for (size_t i = 0; i < ch.values.size(); ++i) {
        if (i > 0) {
          out += ',';
        }
        out += csvField(ch.values[i]);
      }
      out += '\n';
    }
    return out;
  }

 private:
  struct Exporter {
    std::string ice;
    std::string name;
    std::string city;
    int64_t office = 0;
  };
  struct Product {
    std::string hs;
    std::string name;
  };

  static std::string csvField(const Value& v) {
    const auto& s = v.storage();
    char buf[64];
    switch (s.index()) {
      case 0: return "";
      case 1: {
        const auto& t = std::get<std::string>(s);
        if (t.find_first_of(",\"\n") == std::string::npos) {
          return t;
        }
        std::string q = "\"";
        for (char c : t) {
          q += c == '"' ? std::string("\"\"") : std::string(1, c);
        }
        return q + "\"";
      }
      case 2: return std::to_string(std::get<int64_t>(s));
      case 3: std::snprintf(buf, sizeof buf, "%.15g", std::get<double>(s)); return buf;
      case 4: return std::get<bool>(s) ? "true" : "false";
      case 5: return std::get<Date>(s).toIso();
      case 6: return std::get<Timestamp>(s).toIso();
      default: return std::get<Money>(s).toString();
    }
  }

  uint64_t pick(uint64_t n) { return rng_() % n; }
  // Roughly Zipf-like: low indexes are much more frequent, as big exporters are.
  size_t skewed(size_t n) {
    const double u = std::uniform_real_distribution<double>(0.0, 1.0)(rng_);
    return static_cast<size_t>(static_cast<double>(n) * u * u * u) % n;
  }

  std::mt19937_64 rng_;
  std::vector<Exporter> exporters_;
  std::vector<Product> products_;
};

}  // namespace exportsync::protocol::testing
