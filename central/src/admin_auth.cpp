#include "exportsync/central/admin_auth.hpp"

#include <Poco/NumberParser.h>
#include <Poco/SHA2Engine.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <vector>

#include "exportsync/random.hpp"

namespace exportsync::central {
namespace {

constexpr size_t kSaltBytes = 16;
constexpr size_t kHashBytes = 32;
constexpr size_t kMaxTracked = 100000;  // user names or addresses remembered by the limiter

std::string toHex(const unsigned char* p, size_t n) {
  static const char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(n * 2);
  for (size_t i = 0; i < n; ++i) {
    out += kDigits[p[i] >> 4];
    out += kDigits[p[i] & 15];
  }
  return out;
}

bool fromHex(const std::string& hex, std::vector<unsigned char>& out) {
  if (hex.size() % 2 != 0) {
    return false;
  }
  out.clear();
  for (size_t i = 0; i < hex.size(); i += 2) {
    unsigned v = 0;
    if (!Poco::NumberParser::tryParseHex(hex.substr(i, 2), v)) {
      return false;
    }
    out.push_back(static_cast<unsigned char>(v));
  }
  return true;
}

std::vector<unsigned char> pbkdf2(const std::string& password, const unsigned char* salt,
                                  size_t salt_len, int iterations) {
  std::vector<unsigned char> out(kHashBytes);
  // NOLINTNEXTLINE: OpenSSL's C signature.
  if (PKCS5_PBKDF2_HMAC(password.data(), static_cast<int>(password.size()), salt,
                        static_cast<int>(salt_len), iterations, EVP_sha256(),
                        static_cast<int>(out.size()), out.data()) != 1) {
    out.clear();
  }
  return out;
}

}  // namespace

std::string hashPassword(const std::string& password, int iterations) {
  std::vector<unsigned char> salt;
  (void)fromHex(randomHex(kSaltBytes), salt);
  const auto hash = pbkdf2(password, salt.data(), salt.size(), iterations);
  return "pbkdf2-sha256$" + std::to_string(iterations) + "$" + toHex(salt.data(), salt.size()) +
         "$" + toHex(hash.data(), hash.size());
}

bool verifyPassword(const std::string& password, const std::string& stored) {
  // pbkdf2-sha256$ITER$SALT$HASH
  std::vector<std::string> parts;
  size_t start = 0;
  for (;;) {
    const size_t d = stored.find('$', start);
    parts.push_back(stored.substr(start, d == std::string::npos ? std::string::npos : d - start));
    if (d == std::string::npos) {
      break;
    }
    start = d + 1;
  }
  int iterations = 0;
  std::vector<unsigned char> salt;
  std::vector<unsigned char> expected;
  if (parts.size() != 4 || parts[0] != "pbkdf2-sha256" ||
      !Poco::NumberParser::tryParse(parts[1], iterations) || iterations < 1 ||
      iterations > 100000000 || !fromHex(parts[2], salt) || salt.empty() ||
      !fromHex(parts[3], expected) || expected.size() != kHashBytes) {
    return false;
  }
  const auto got = pbkdf2(password, salt.data(), salt.size(), iterations);
  return got.size() == expected.size() &&
         CRYPTO_memcmp(got.data(), expected.data(), expected.size()) == 0;
}

void verifyDummy(const std::string& password, int iterations) {
  static const unsigned char kSalt[kSaltBytes] = {};
  (void)pbkdf2(password, kSalt, sizeof kSalt, iterations);
}

bool constantTimeEquals(const std::string& a, const std::string& b) {
  if (a.size() != b.size()) {
    return false;
  }
  return a.empty() || CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

Result<std::string> normaliseUserName(const std::string& user) {
  std::string out;
  for (char c : user) {
    const char l = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (!((l >= 'a' && l <= 'z') || (l >= '0' && l <= '9') || l == '.' || l == '_' || l == '-')) {
      return Status::invalid("user name '" + user.substr(0, 64) +
                             "' may hold only letters a-z, digits, '.', '_' and '-'");
    }
    out += l;
  }
  if (out.empty() || out.size() > 64) {
    return Status::invalid("a user name has 1 to 64 characters");
  }
  return out;
}

Status checkNewPassword(const std::string& password) {
  if (password.size() < 12) {
    return Status::invalid("the password has " + std::to_string(password.size()) +
                           " bytes; use at least 12 (a few words make a good one)");
  }
  if (password.size() > 1024) {
    return Status::invalid("the password is longer than 1024 bytes");
  }
  return Status::ok();
}

std::string newSessionId() { return randomHex(32); }

std::string csrfTokenFor(const std::string& session_id) {
  Poco::SHA2Engine engine(Poco::SHA2Engine::SHA_256);
  engine.update("exportsync-csrf:" + session_id);
  return Poco::DigestEngine::digestToHex(engine.digest());
}

void LoginLimiter::expire(Book& book, const std::string& key, int64_t now) {
  auto it = book.find(key);
  if (it == book.end()) {
    return;
  }
  auto& q = it->second;
  while (!q.empty() && q.front() <= now - window_s_) {
    q.pop_front();
  }
  if (q.empty()) {
    book.erase(it);
  }
}

void LoginLimiter::bound(Book& book, int64_t now) {
  if (book.size() < kMaxTracked) {
    return;
  }
  for (auto it = book.begin(); it != book.end();) {
    it =
        !it->second.empty() && it->second.back() > now - window_s_ ? std::next(it) : book.erase(it);
  }
  while (book.size() >= kMaxTracked) {
    book.erase(book.begin());  // still too many: forget some (memory stays bounded)
  }
}

LoginLimiter::Verdict LoginLimiter::check(const std::string& user, const std::string& ip,
                                          int64_t now) {
  const std::lock_guard<std::mutex> lock(mutex_);
  expire(by_user_, user, now);
  expire(by_ip_, ip, now);
  Verdict v;
  auto u = by_user_.find(user);
  if (u != by_user_.end() && static_cast<int64_t>(u->second.size()) >= per_user_) {
    v.retry_after_s = std::max<int64_t>(1, u->second.front() + window_s_ - now);
    v.message = "too many failed logins for user '" + user + "'; wait " +
                std::to_string(v.retry_after_s) + " s and check the password";
    return v;
  }
  auto a = by_ip_.find(ip);
  if (a != by_ip_.end() && static_cast<int64_t>(a->second.size()) >= per_ip_) {
    v.retry_after_s = std::max<int64_t>(1, a->second.front() + window_s_ - now);
    v.message =
        "too many failed logins from " + ip + "; wait " + std::to_string(v.retry_after_s) + " s";
  }
  return v;
}

void LoginLimiter::failed(const std::string& user, const std::string& ip, int64_t now) {
  const std::lock_guard<std::mutex> lock(mutex_);
  bound(by_user_, now);
  bound(by_ip_, now);
  by_user_[user].push_back(now);
  by_ip_[ip].push_back(now);
}

void LoginLimiter::succeeded(const std::string& user) {
  const std::lock_guard<std::mutex> lock(mutex_);
  by_user_.erase(user);
}

}  // namespace exportsync::central
