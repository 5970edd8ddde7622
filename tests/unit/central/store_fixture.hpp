// A SQLite central store in a throw-away folder, agents enrolled directly through the store,
// and batches of the core datasets (exporters, export_flows) built from named values, so the
// central unit tests feed the store exactly as the hub does (applyBatch).
//
// THREAD: test thread only. OWNERSHIP: the fixture owns the folder and the store.
#pragma once

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "exportsync/central/central_store.hpp"
#include "exportsync/core_datasets.hpp"
#include "exportsync/protocol/batch.hpp"

namespace exportsync::central::test {

using Fields = std::map<std::string, Value>;

class StoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* tmp = std::getenv("TMPDIR");
    std::string tmpl =
        std::string(tmp != nullptr && *tmp != '\0' ? tmp : "/tmp") + "/es-central-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    auto s = openSqliteCentralStore(dir_ + "/central.db");
    ASSERT_TRUE(s.isOk()) << s.status().message();
    store_ = std::move(*s);
  }
  void TearDown() override {
    store_.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  /// Enrols an agent of `region` through a one-time code; returns its record.
  AgentRecord enrol(const std::string& id, const std::string& region, int64_t now = 1000) {
    const std::string code = "code-" + id;
    EXPECT_TRUE(store_->addEnrolmentCode(code, region, now + 3600).isOk());
    auto a = store_->enrol(code, now, id, "token-" + id, "host-" + id);
    EXPECT_TRUE(a.isOk()) << a.status().message();
    return a ? *a : AgentRecord{};
  }

  /// Applies one batch of `dataset` upserts (rows as column → value; missing columns null).
  void upsert(const AgentRecord& a, const std::string& plugin, const DatasetSpec& spec,
              const std::vector<Fields>& rows, int64_t now = 2000) {
    protocol::Batch b;
    auto& h = b.header;
    h.agent_id = a.id;
    h.region = a.region;
    h.incarnation = "inc-" + a.id;
    h.base_seq = seq_[a.id];
    h.datasets.push_back({plugin, spec.name, spec.version, spec.columns});
    int64_t seq = h.base_seq;
    for (const auto& r : rows) {
      protocol::ChangeRecord c;
      c.seq = ++seq;
      c.op = protocol::Op::Insert;
      for (const auto& col : spec.columns) {
        auto it = r.find(col.name);
        c.values.push_back(it == r.end() ? Value() : it->second);
      }
      b.changes.push_back(std::move(c));
    }
    h.first_seq = rows.empty() ? 0 : h.base_seq + 1;
    h.last_seq = seq;
    h.row_count = b.changes.size();
    auto wire = protocol::encodeBatch(b);
    ASSERT_TRUE(wire.isOk()) << wire.status().message();
    auto current = store_->agent(a.id);
    ASSERT_TRUE(current.isOk() && current->has_value());
    auto out = store_->applyBatch(**current, b, *wire, now);
    ASSERT_TRUE(out.isOk()) << out.status().message();
    ASSERT_EQ(out->set_aside, 0) << "a row was set aside";
    seq_[a.id] = seq;
  }

  /// An exporters row with the required columns filled.
  static Fields exporter(const std::string& id, const std::string& region,
                         Value first_export_year = Value()) {
    return {{"exporter_id", id},
            {"id_kind", id.rfind("cooperative:", 0) == 0 ? "cooperative" : "ice"},
            {"name", "Exportateur " + id},
            {"legal_form", "sarl"},
            {"region", region},
            {"sector", "other"},
            {"first_export_year", std::move(first_export_year)}};
  }
  /// An export_flows row; `mad` in whole dirhams and centimes as "300.00" would be 30000.
  static Fields flow(const std::string& id, const std::string& hs, const std::string& dest,
                     const std::string& period, int64_t centimes) {
    return {{"exporter_id", id},
            {"hs_code", hs},
            {"destination", dest},
            {"period", period},
            {"value_mad", Money::fromCentimes(centimes)}};
  }

  std::string dir_;
  std::unique_ptr<CentralStore> store_;
  std::map<std::string, int64_t> seq_;
};

}  // namespace exportsync::central::test
