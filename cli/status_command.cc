#include "cli/status_command.h"

#include <sys/stat.h>
#include <time.h>

#include <cstdio>
#include <string>

#include "cli/report.h"
#include "db/journal.h"
#include "db/mirror_state.h"
#include "db/schema.h"
#include "db/settings.h"
#include "db/signature_cache.h"

namespace mirrorfs::cli {
namespace {

std::string iso_time(int64_t ns) {
  if (ns == 0) return "never";
  const time_t t = static_cast<time_t>(ns / 1'000'000'000);
  struct tm tm {};
  gmtime_r(&t, &tm);
  char buf[32];
  strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::string json_string(std::string_view s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", c);
      out += buf;
    } else {
      out += static_cast<char>(c);
    }
  }
  return out + "\"";
}

struct Row {
  db::MirrorInfo info;
  db::Journal::Pending pending;
};

// DIR/state.db, which must exist (an open would create it).
Result<std::unique_ptr<db::Database>> open_existing(const std::string& state_dir) {
  const std::string path = state_dir + "/state.db";
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return Status::from_errno(errno, path);
  return db::open_state_db(path);
}

}  // namespace

int forget_mirror(const std::string& state_dir, const std::string& name) {
  auto run = [&]() -> Status {
    MIRRORFS_ASSIGN_OR_RETURN(db, open_existing(state_dir));
    MIRRORFS_ASSIGN_OR_RETURN(journal, db::Journal::open(*db));
    MIRRORFS_ASSIGN_OR_RETURN(state, db::MirrorState::open(*db));
    MIRRORFS_ASSIGN_OR_RETURN(signatures, db::SignatureCache::open(*db));
    MIRRORFS_ASSIGN_OR_RETURN(mirrors, state->list());
    uint64_t acked = 0;
    std::string known;
    for (const db::MirrorInfo& m : mirrors) {
      if (m.name == name) acked = m.acked_seq;
      known += (known.empty() ? "" : ", ") + m.name;
    }
    if (Status s = state->remove_mirror(name); !s.is_ok()) {
      if (s.code() != Code::kNotFound) return s;
      return Status(Code::kNotFound, "no mirror named '" + name + "' in " + state_dir +
                                         "/state.db (known: " +
                                         (known.empty() ? "none" : known) + ")");
    }
    MIRRORFS_ASSIGN_OR_RETURN(trim_to, state->min_acked_seq());
    MIRRORFS_RETURN_IF_ERROR(journal->trim(trim_to));
    MIRRORFS_ASSIGN_OR_RETURN(dropped, signatures->gc());
    std::printf("forgot mirror %s (it had acknowledged up to seq %llu); journal kept from seq %llu, "
                "%llu cached signatures dropped\n",
                name.c_str(), static_cast<unsigned long long>(acked),
                static_cast<unsigned long long>(trim_to + 1),
                static_cast<unsigned long long>(dropped));
    return std::fflush(stdout) == 0 ? Status::ok() : Status::from_errno(errno, "standard output");
  };
  const Status s = run();
  return s.is_ok() ? kExitOk : fail("forget", s);
}

int print_status(const std::string& state_dir, bool json) {
  auto run = [&]() -> Status {
    MIRRORFS_ASSIGN_OR_RETURN(db, open_existing(state_dir));
    MIRRORFS_ASSIGN_OR_RETURN(journal, db::Journal::open(*db));
    MIRRORFS_ASSIGN_OR_RETURN(state, db::MirrorState::open(*db));
    MIRRORFS_ASSIGN_OR_RETURN(settings, db::Settings::open(*db));
    MIRRORFS_ASSIGN_OR_RETURN(backing, settings->get(db::kSettingBacking));
    MIRRORFS_ASSIGN_OR_RETURN(last, journal->last_seq());
    MIRRORFS_ASSIGN_OR_RETURN(mirrors, state->list());
    std::vector<Row> rows;
    for (const db::MirrorInfo& m : mirrors) {
      MIRRORFS_ASSIGN_OR_RETURN(p, journal->pending(m.acked_seq));
      rows.push_back(Row{m, p});
    }
    std::string out;
    if (json) {
      out = "{\"backing\":" + (backing ? json_string(*backing) : "null") +
            ",\"journal_seq\":" + std::to_string(last) + ",\"mirrors\":[";
      for (size_t i = 0; i < rows.size(); ++i) {
        const Row& r = rows[i];
        if (i) out += ',';
        out += "{\"name\":" + json_string(r.info.name) +
               ",\"acked_seq\":" + std::to_string(r.info.acked_seq) +
               ",\"pending_operations\":" + std::to_string(r.pending.records) +
               ",\"pending_bytes\":" + std::to_string(r.pending.extent_bytes) +
               ",\"last_contact\":" + (r.info.last_contact_ns ? json_string(iso_time(r.info.last_contact_ns)) : "null") +
               ",\"last_success\":" + (r.info.last_ok_ns ? json_string(iso_time(r.info.last_ok_ns)) : "null") +
               ",\"last_error\":" + (r.info.last_error.empty() ? "null" : json_string(r.info.last_error)) +
               ",\"bytes_sent\":" + std::to_string(r.info.bytes_sent) +
               ",\"bytes_saved\":" + std::to_string(r.info.bytes_saved) + "}";
      }
      out += "]}\n";
    } else {
      out = "backing: " + (backing ? *backing : std::string("(no mount yet)")) +
            "\njournal: up to seq " + std::to_string(last) + "\n";
      if (rows.empty()) out += "no mirror has been replicated to yet\n";
      for (const Row& r : rows) {
        out += "\nmirror " + r.info.name + "\n";
        out += "  acknowledged:  seq " + std::to_string(r.info.acked_seq) + "\n";
        out += "  pending:       " + std::to_string(r.pending.records) +
               " operations, " + std::to_string(r.pending.extent_bytes) +
               " bytes written\n";
        out += "  last contact:  " + iso_time(r.info.last_contact_ns) + "\n";
        out += "  last success:  " + iso_time(r.info.last_ok_ns) + "\n";
        out += "  last error:    " + (r.info.last_error.empty() ? std::string("none") : r.info.last_error) + "\n";
        out += "  bytes sent:    " + std::to_string(r.info.bytes_sent) + "\n";
        out += "  bytes saved:   " + std::to_string(r.info.bytes_saved) + " (by deltas)\n";
      }
    }
    if (std::fwrite(out.data(), 1, out.size(), stdout) != out.size() || std::fflush(stdout) != 0) {
      return Status::from_errno(errno, "standard output");
    }
    return Status::ok();
  };
  const Status s = run();
  return s.is_ok() ? kExitOk : fail("status", s);
}

}  // namespace mirrorfs::cli
