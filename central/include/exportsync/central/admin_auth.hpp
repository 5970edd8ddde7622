// Admin accounts and logins for the dashboard (docs/dashboard-api.md §3): PBKDF2-HMAC-SHA256
// password hashes, constant-time comparison, session ids and CSRF tokens, and the login rate
// limiter.
//
// THREAD: the free functions are pure; LoginLimiter is safe from several threads.
// OWNERSHIP: values.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <mutex>
#include <string>

#include "exportsync/status.hpp"

namespace exportsync::central {

inline constexpr int kMinPbkdf2Iterations = 200000;
inline constexpr int kDefaultPbkdf2Iterations = 210000;

/// "pbkdf2-sha256$<iterations>$<salt: 32 hex>$<hash: 64 hex>" with a fresh 16-byte salt.
std::string hashPassword(const std::string& password, int iterations);

/// True when `password` matches `stored` (as hashPassword writes it). A malformed `stored` is
/// false. The hash comparison takes the same time wherever the first difference is.
bool verifyPassword(const std::string& password, const std::string& stored);

/// Burns the time of one verification (for unknown users, so timing does not tell them apart).
void verifyDummy(const std::string& password, int iterations);

/// Compares in time that depends on the lengths only.
bool constantTimeEquals(const std::string& a, const std::string& b);

/// The user name lower-cased, or a refusal naming the rule (1-64 of a-z 0-9 . _ -).
Result<std::string> normaliseUserName(const std::string& user);

/// Refuses a password shorter than 12 or longer than 1024 bytes.
Status checkNewPassword(const std::string& password);

/// A new session id: 256 random bits as 64 hex digits.
std::string newSessionId();

/// The CSRF token of a session (derived from its id; docs/dashboard-api.md "CSRF").
std::string csrfTokenFor(const std::string& session_id);

/// Failed logins per user name and per client address within a sliding window.
class LoginLimiter {
 public:
  LoginLimiter(int64_t per_user, int64_t per_ip, int64_t window_s)
      : per_user_(per_user), per_ip_(per_ip), window_s_(window_s) {}

  struct Verdict {
    int64_t retry_after_s = 0;  ///< 0: allowed
    std::string message;        ///< why not, what to do
  };
  /// Whether (user, ip) may try now.
  Verdict check(const std::string& user, const std::string& ip, int64_t now);
  void failed(const std::string& user, const std::string& ip, int64_t now);
  /// A successful login clears that user's failures (not the address's).
  void succeeded(const std::string& user);

 private:
  using Book = std::map<std::string, std::deque<int64_t>>;
  void expire(Book& book, const std::string& key, int64_t now);
  void bound(Book& book, int64_t now);
  int64_t per_user_;
  int64_t per_ip_;
  int64_t window_s_;
  std::mutex mutex_;
  Book by_user_;  // Guarded by mutex_.
  Book by_ip_;    // Guarded by mutex_.
};

}  // namespace exportsync::central
